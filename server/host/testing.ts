import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { digestArtifactFile } from '../crypto/digest';
import { buildExampleModules, exampleModulePath } from '../demo/example-modules';
import type { DesiredVersion, Isolation } from '../protocol';

// Test helpers for hosts: example modules addressed by their SM3, as the registry would send them.
export async function exampleArtifacts() {
  const dir = await buildExampleModules();
  const bySm3 = new Map<string, string>();
  async function version(module: string, version: string, options: { variant?: string; weight?: number; isolation?: Isolation; config?: string; as?: string } = {}): Promise<DesiredVersion> {
    const file = exampleModulePath(dir, module, version, options.variant);
    const { sm3 } = await digestArtifactFile(file);
    bySm3.set(sm3, file);
    return { version: options.as ?? version, sm3, weight: options.weight ?? 100, isolation: options.isolation ?? 'process', config: options.config };
  }
  return {
    version,
    artifactPath: (sm3: string) => {
      const file = bySm3.get(sm3);
      if (!file) throw new Error(`no example artifact with SM3 ${sm3}`);
      return file;
    },
    tempDir: () => mkdtempSync(path.join(os.tmpdir(), 'hotplane-host-')),
  };
}
