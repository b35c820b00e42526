// Builds the C fixtures in this folder with the system gcc into a temporary directory, so the tests
// check the inspector against binaries a real toolchain made rather than against bytes we wrote.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const execFileAsync = promisify(execFile);

const SOURCES = fileURLToPath(new URL('.', import.meta.url));
const source = (name: string) => join(SOURCES, name);

async function gcc(...args: string[]): Promise<void> {
  await execFileAsync('gcc', ['-O1', ...args]);
}

export interface CompiledFixtures {
  dir: string;
  // Exports of several shapes, soname libhp-exports.so.1, hp_api in two versions.
  exports: string;
  // __thread variable, -ftls-model=initial-exec: DF_STATIC_TLS.
  threadLocalInitialExec: string;
  // The same source with the default (global-dynamic) model: a TLS segment but no static TLS.
  threadLocalDynamic: string;
  usesLibm: string;
  // DT_NEEDED libhp-gone.so, which was deleted after linking.
  usesMissingLibrary: string;
  // DT_NEEDED libhp-dependency.so found through DT_RUNPATH $ORIGIN (it sits next to the module).
  usesLibraryViaRunpath: string;
  // The same through DT_RPATH (--disable-new-dtags).
  usesLibraryViaRpath: string;
  nonPieExecutable: string;
  pieExecutable: string;
  remove(): Promise<void>;
}

export async function compileFixtures(): Promise<CompiledFixtures> {
  const dir = await mkdtemp(join(tmpdir(), 'hotplane-elf-'));
  const out = (name: string) => join(dir, name);
  const shared = ['-shared', '-fPIC'];
  await Promise.all([
    gcc(...shared, `-Wl,--version-script=${source('exports.map')}`, '-Wl,-soname,libhp-exports.so.1', '-o', out('libhp-exports.so'), source('exports.c')),
    gcc(...shared, '-ftls-model=initial-exec', '-o', out('libhp-tls-ie.so'), source('thread-local.c')),
    gcc(...shared, '-o', out('libhp-tls-gd.so'), source('thread-local.c')),
    gcc(...shared, '-Wl,--no-as-needed', '-o', out('libhp-uses-libm.so'), source('uses-libm.c'), '-lm'),
    gcc(...shared, '-o', out('libhp-gone.so'), source('dependency.c')),
    gcc(...shared, '-Wl,-soname,libhp-dependency.so', '-o', out('libhp-dependency.so'), source('dependency.c')),
    gcc('-no-pie', '-o', out('non-pie-executable'), source('executable.c')),
    gcc('-pie', '-fPIE', '-o', out('pie-executable'), source('executable.c')),
  ]);
  const linkAgainst = (library: string) => [...shared, '-Wl,--no-as-needed', '-L', dir, source('uses-dependency.c'), `-l${library}`];
  await Promise.all([
    gcc(...linkAgainst('hp-gone'), '-o', out('libhp-uses-missing.so')),
    gcc(...linkAgainst('hp-dependency'), '-Wl,-rpath,$ORIGIN', '-o', out('libhp-uses-runpath.so')),
    gcc(...linkAgainst('hp-dependency'), '-Wl,-rpath,$ORIGIN', '-Wl,--disable-new-dtags', '-o', out('libhp-uses-rpath.so')),
  ]);
  await rm(out('libhp-gone.so'));
  return {
    dir,
    exports: out('libhp-exports.so'),
    threadLocalInitialExec: out('libhp-tls-ie.so'),
    threadLocalDynamic: out('libhp-tls-gd.so'),
    usesLibm: out('libhp-uses-libm.so'),
    usesMissingLibrary: out('libhp-uses-missing.so'),
    usesLibraryViaRunpath: out('libhp-uses-runpath.so'),
    usesLibraryViaRpath: out('libhp-uses-rpath.so'),
    nonPieExecutable: out('non-pie-executable'),
    pieExecutable: out('pie-executable'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
