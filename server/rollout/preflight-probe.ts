// The throwaway probe process of a preflight (preflight.ts starts it): loads one module, checks its identity,
// runs hp_init and hp_self_test, and reports each stage as a JSON line on fd 3 (stdout and stderr belong to the
// module). It is killed if the self-test runs past its limit and exits when done, so nothing it loaded is ever
// unloaded in place (a Go module cannot be).
import { writeSync } from 'node:fs';
import { HP_ABI_VERSION, ModuleLibrary } from '../host/module-library';
import type { PreflightSubject } from './preflight';

export type ProbeLine =
  | { stage: 'opening' }
  | { stage: 'loaded'; dlopenMs: number }
  | { stage: 'self-test' }
  | { stage: 'done'; ok: boolean; report: string; initMs?: number; selfTestMs?: number };

const PROBE_FD = 3;

// Written synchronously, so the stage a crash or a hang interrupts is known to the console.
const say = (line: ProbeLine) => writeSync(PROBE_FD, `${JSON.stringify(line)}\n`);

function identityProblem(library: ModuleLibrary, subject: PreflightSubject): string | null {
  if (library.abiVersion() !== HP_ABI_VERSION) return `hp_abi_version() is ${library.abiVersion()}, hosts speak ABI ${HP_ABI_VERSION}`;
  if (library.name() !== subject.module) return `hp_module_name() is "${library.name()}", not "${subject.module}"`;
  if (library.version() !== subject.version) return `hp_module_version() is "${library.version()}", not "${subject.version}"`;
  return null;
}

function probe(subject: PreflightSubject) {
  say({ stage: 'opening' });
  let started = performance.now();
  const library = ModuleLibrary.open(subject.path);
  say({ stage: 'loaded', dlopenMs: performance.now() - started });
  const wrong = identityProblem(library, subject);
  if (wrong) return say({ stage: 'done', ok: false, report: wrong });
  // The upload's identity probe stops here: no hp_init, so no business code runs beyond the identity calls.
  if (subject.identityOnly) {
    return say({ stage: 'done', ok: true, report: `hp_abi_version() ${HP_ABI_VERSION}, hp_module_name() "${subject.module}", hp_module_version() "${subject.version}"` });
  }
  started = performance.now();
  const init = library.init(Buffer.from(subject.config));
  const initMs = performance.now() - started;
  if (init !== 0) return say({ stage: 'done', ok: false, report: `hp_init returned ${init}`, initMs });
  say({ stage: 'self-test' });
  started = performance.now();
  const test = library.selfTest();
  const selfTestMs = performance.now() - started;
  const report = test.report.trim() || '(no report)';
  library.shutdown();
  say(test.code === 0 ? { stage: 'done', ok: true, report, initMs, selfTestMs } : { stage: 'done', ok: false, report: `hp_self_test returned ${test.code}: ${report}`, initMs, selfTestMs });
}

const input: Buffer[] = [];
process.stdin.on('data', (chunk: Buffer) => input.push(chunk));
process.stdin.on('end', () => {
  try {
    probe(JSON.parse(Buffer.concat(input).toString('utf8')) as PreflightSubject);
  } catch (error) {
    say({ stage: 'done', ok: false, report: error instanceof Error ? error.message : String(error) });
  }
});
