// Types for build-modules.mjs, which stays plain JavaScript so it runs with no build step.
export interface BuiltModule {
  /** File name inside outDir; also the library's SONAME. */
  file: string;
  module: string;
  version: string;
  class: 'business' | 'gateway';
  /** 'standard', or the name of the deliberate defect compiled in (see modules/faults.h). */
  variant: string;
  description: string;
  language: 'c' | 'c++' | 'go';
}

export interface BuildModulesOptions {
  /** Default: <repo>/build/modules */
  outDir?: string;
  /** Suppresses progress lines (warnings such as a missing Go toolchain are still printed). */
  quiet?: boolean;
}

export function buildModules(options?: BuildModulesOptions): Promise<BuiltModule[]>;
