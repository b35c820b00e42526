import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModules, type BuiltModule } from '../../scripts/build-modules.mjs';

export const EXAMPLE_MODULES_DIR = fileURLToPath(new URL('../../build/modules', import.meta.url));

let built: Promise<BuiltModule[]> | undefined;

export async function buildExampleModules(): Promise<string> {
  built ??= buildModules({ outDir: EXAMPLE_MODULES_DIR, quiet: true });
  await built;
  return EXAMPLE_MODULES_DIR;
}

export async function exampleModuleIndex(): Promise<BuiltModule[]> {
  await buildExampleModules();
  return built!;
}

export function exampleModulePath(dir: string, module: string, version: string, variant = 'standard'): string {
  return path.join(dir, variant === 'standard' ? `${module}-${version}.so` : `${module}-${version}-${variant}.so`);
}
