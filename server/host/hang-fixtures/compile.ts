// Builds napper.c (a module that hangs or sleeps on request) with the system gcc, one .so per version asked for, and
// addresses them by SM3 as the console would send them to a host.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { digestArtifactFile } from '../../crypto/digest';
import { projectRoot } from '../../paths';
import type { DesiredVersion } from '../../protocol';

const execFileAsync = promisify(execFile);

export interface Nappers {
  dir: string;
  /** The desired version of napper `version` (compiled by compileNappers), in a process cell by default. */
  version(version: string, options?: { weight?: number; config?: string }): DesiredVersion;
  artifactPath(sm3: string): string;
  remove(): Promise<void>;
}

export async function compileNappers(versions: readonly string[]): Promise<Nappers> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hotplane-napper-'));
  const source = path.join(projectRoot(), 'server', 'host', 'hang-fixtures', 'napper.c');
  const include = path.join(projectRoot(), 'modules');
  const bySm3 = new Map<string, string>();
  const sm3Of = new Map<string, string>();
  await Promise.all(
    versions.map(async (version) => {
      // Each version its own file: glibc would hand back an already-loaded library for the same path.
      const file = path.join(dir, `napper-${version}.so`);
      await execFileAsync('gcc', ['-O1', '-shared', '-fPIC', '-fvisibility=hidden', `-I${include}`, `-DHP_VERSION="${version}"`, '-o', file, source]);
      const { sm3 } = await digestArtifactFile(file);
      bySm3.set(sm3, file);
      sm3Of.set(version, sm3);
    }),
  );
  return {
    dir,
    version: (version, options = {}) => {
      const sm3 = sm3Of.get(version);
      if (!sm3) throw new Error(`napper ${version} was not compiled`);
      return { version, sm3, weight: options.weight ?? 100, isolation: 'process', config: options.config };
    },
    artifactPath: (sm3) => {
      const file = bySm3.get(sm3);
      if (!file) throw new Error(`no napper with SM3 ${sm3}`);
      return file;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
