import { digestArtifactFile } from '../crypto/digest';
import { CellCallError } from '../host/cell';
import { ProcessCell } from '../host/process-cell';
import { HP_ABI_VERSION } from '../protocol';

// Before any traffic: the target version in a throwaway process cell of its own — the same ProcessCell the hosts
// run modules in (server/host/process-cell.ts), so the same child, sandbox (server/host/sandbox.ts) and caps: load,
// identity, init, self-test within the limit — then the cell is shut down and its process ends. A failure ends the
// request with nothing served. The console never loads a module itself.

export interface PreflightSubject {
  module: string;
  version: string;
  /** The artifact in the store, and the SM3 the request was approved for. */
  path: string;
  sm3: string;
  config: string;
  selfTestLimitMs: number;
  /** Load and compare the identity only (the upload's identity probe): no hp_init, no self-test. */
  identityOnly?: boolean;
  /** For an identity probe: how long starting the cell, dlopen and the three identity calls may take. */
  identityLimitMs?: number;
}

export interface PreflightResult {
  ok: boolean;
  /** What happened, in words: the failure, or the self-test's own report. */
  report: string;
  timings: { verifyMs?: number; dlopenMs?: number; initMs?: number; selfTestMs?: number };
}

export type PreflightRunner = (subject: PreflightSubject) => Promise<PreflightResult>;

/** The cell's own limit on starting, dlopen and hp_init; the self-test has its own limit on top. */
const LOAD_LIMIT_S = 30;

function identityProblem(identity: { abiVersion: number; name: string; version: string }, subject: PreflightSubject): string | null {
  if (identity.abiVersion !== HP_ABI_VERSION) return `hp_abi_version() is ${identity.abiVersion}, hosts speak ABI ${HP_ABI_VERSION}`;
  if (identity.name !== subject.module) return `hp_module_name() is "${identity.name}", not "${subject.module}"`;
  if (identity.version !== subject.version) return `hp_module_version() is "${identity.version}", not "${subject.version}"`;
  return null;
}

/** A call the cell did not answer, in the probe's words: what overran or died, during which stage, its last output. */
function describeFailure(error: unknown, stage: string, overrun: string): string {
  if (!(error instanceof CellCallError)) return error instanceof Error ? error.message.replace(/^\S+ in cell [^:]+: /, '') : String(error);
  const how = error.kind === 'timeout' ? overrun : `the probe died (${error.signal ? `signal ${error.signal}` : `exit ${error.exitCode}`}) during ${stage}`;
  const output = error.stderrTail?.trim();
  return `${how}${output ? `; last output: ${output.slice(-600)}` : ''}`;
}

async function probeInCell(subject: PreflightSubject, timings: PreflightResult['timings']): Promise<PreflightResult> {
  const identityLimit = subject.identityOnly ? subject.identityLimitMs : undefined;
  const cell = new ProcessCell({ path: subject.path, isolation: 'process', goRuntime: false, openTimeoutMs: identityLimit });
  const fail = (report: string): PreflightResult => ({ ok: false, report, timings });
  try {
    let identity;
    try {
      identity = await cell.open();
    } catch (error) {
      const overrun = identityLimit === undefined ? `loading took more than ${LOAD_LIMIT_S} s` : `loading and the identity calls took more than ${identityLimit / 1000} s`;
      return fail(describeFailure(error, identityLimit === undefined ? 'loading' : 'dlopen and the identity calls', overrun));
    }
    timings.dlopenMs = identity.dlopenMs;
    const wrong = identityProblem(identity, subject);
    if (wrong) return fail(wrong);
    // The upload's identity probe stops here: no hp_init, so no business code runs beyond the identity calls.
    if (subject.identityOnly) {
      return { ok: true, report: `hp_abi_version() ${HP_ABI_VERSION}, hp_module_name() "${subject.module}", hp_module_version() "${subject.version}"`, timings };
    }
    let init;
    try {
      init = await cell.init(Buffer.from(subject.config));
    } catch (error) {
      return fail(describeFailure(error, 'hp_init', `loading or hp_init took more than ${LOAD_LIMIT_S} s`));
    }
    timings.initMs = init.ms;
    if (init.code !== 0) return fail(`hp_init returned ${init.code}`);
    let test;
    try {
      test = await cell.selfTest(subject.selfTestLimitMs);
    } catch (error) {
      return fail(describeFailure(error, 'hp_self_test', `hp_self_test ran past its ${subject.selfTestLimitMs / 1000} s limit`));
    }
    timings.selfTestMs = test.ms;
    const report = test.report.trim() || '(no report)';
    return test.code === 0 ? { ok: true, report, timings } : fail(`hp_self_test returned ${test.code}: ${report}`);
  } finally {
    // hp_shutdown, then the process exits: nothing it loaded is ever unloaded in place (a Go module cannot be).
    await cell.dispose();
  }
}

/**
 * The upload's identity probe: the same throwaway cell as a preflight, stopped after hp_abi_version,
 * hp_module_name and hp_module_version; hp_init is never called.
 */
export function probeModuleIdentity(subject: { path: string; module: string; version: string; limitMs: number }): Promise<PreflightResult> {
  return probeInCell(
    { module: subject.module, version: subject.version, path: subject.path, sm3: '', config: '', selfTestLimitMs: 0, identityOnly: true, identityLimitMs: subject.limitMs },
    {},
  );
}

export const probeProcessPreflight: PreflightRunner = async (subject) => {
  const timings: PreflightResult['timings'] = {};
  const started = performance.now();
  const digest = await digestArtifactFile(subject.path);
  timings.verifyMs = performance.now() - started;
  if (digest.sm3 !== subject.sm3) {
    return { ok: false, report: `the stored file's SM3 is ${digest.sm3}, the request was approved for ${subject.sm3}`, timings };
  }
  return probeInCell(subject, timings);
};
