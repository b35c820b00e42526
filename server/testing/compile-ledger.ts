import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../paths';

const run = promisify(execFile);

// Builds a one-off ledger .so with gcc for a test: a version the example set does not have (a "9.0.0"), the ledger
// code under another module name, or the ledger plus extra C (e.g. a constructor that hangs while it is loaded).
export async function compileLedger(outDir: string, options: { file: string; version: string; name?: string; extraC?: string }): Promise<string> {
  const root = projectRoot();
  const sources = [path.join(root, 'modules', 'ledger', 'ledger.c')];
  if (options.extraC) {
    const extra = path.join(outDir, `${options.file}.extra.c`);
    await writeFile(extra, options.extraC);
    sources.push(extra);
  }
  const out = path.join(outDir, options.file);
  await run('gcc', [
    '-std=gnu11', '-O2', '-fPIC', '-fvisibility=hidden', `-I${path.join(root, 'modules')}`, `-DHP_VERSION="${options.version}"`,
    ...(options.name ? [`-DHP_MODULE_NAME="${options.name}"`] : []),
    '-shared', '-Wl,--no-undefined', '-Wl,-z,relro,-z,now', `-Wl,-soname,${options.file}`, '-o', out, ...sources,
  ]);
  return out;
}
