import path from 'node:path';
import { buildModules, type BuiltModule } from '../../scripts/build-modules.mjs';

import { projectRoot } from '../paths';

export function exampleModulesDir(): string {
  return path.join(projectRoot(), 'build', 'modules');
}

let built: Promise<BuiltModule[]> | undefined;

export async function buildExampleModules(): Promise<string> {
  built ??= buildModules({ outDir: exampleModulesDir(), quiet: true });
  await built;
  return exampleModulesDir();
}

export async function exampleModuleIndex(): Promise<BuiltModule[]> {
  await buildExampleModules();
  return built!;
}

export function exampleModulePath(dir: string, module: string, version: string, variant = 'standard'): string {
  return path.join(dir, variant === 'standard' ? `${module}-${version}.so` : `${module}-${version}-${variant}.so`);
}
