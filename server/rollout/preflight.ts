import { realpathSync } from 'node:fs';
import path from 'node:path';
import { digestArtifactFile } from '../crypto/digest';
import { programExit, spawnSandboxed } from '../host/sandbox';
import { projectRoot } from '../paths';
import type { Readable } from 'node:stream';
import type { ProbeLine } from './preflight-probe';

// Before any traffic: the target version in a throwaway process of its own (preflight-probe.ts) — load,
// identity, init, self-test within the limit — then the process ends. A failure ends the request with nothing
// served. The console never loads a module itself; the probe is started like the embedded host (node + tsx from
// the project folder), so it runs the same from the CLI, the tests and the bundled console — but sandboxed like a
// process cell (server/host/sandbox.ts): it sees the code it runs and the one artifact, nothing of the data folder.

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
  /** For an identity probe: how long dlopen and the three identity calls may take once node has started. */
  identityLimitMs?: number;
}

export interface PreflightResult {
  ok: boolean;
  /** What happened, in words: the failure, or the self-test's own report. */
  report: string;
  timings: { verifyMs?: number; dlopenMs?: number; initMs?: number; selfTestMs?: number };
}

export type PreflightRunner = (subject: PreflightSubject) => Promise<PreflightResult>;

/** Starting node with tsx and loading the module; the self-test has its own limit on top. */
const LOAD_LIMIT_MS = 30_000;

function parseLine(text: string): ProbeLine | null {
  try {
    return JSON.parse(text) as ProbeLine;
  } catch {
    return null;
  }
}

/** The code the probe runs (its three source files, the packages), read-only; nothing else of the checkout. */
function probeCodePaths(root: string) {
  return [
    path.join(root, 'server', 'rollout', 'preflight-probe.ts'),
    path.join(root, 'server', 'host', 'module-library.ts'),
    path.join(root, 'server', 'protocol', 'abi.ts'),
    path.join(root, 'package.json'),
    { source: realpathSync(path.join(root, 'node_modules')), target: path.join(root, 'node_modules') },
  ];
}

function runProbe(subject: PreflightSubject, timings: PreflightResult['timings']): Promise<PreflightResult> {
  return new Promise((resolve) => {
    const root = projectRoot();
    let sandboxed: PreflightSubject = subject;
    let child;
    try {
      child = spawnSandboxed({
        command: process.execPath,
        files: { module: subject.path },
        args: (files) => {
          sandboxed = { ...subject, path: files.module };
          return ['--conditions=react-server', '--import', 'tsx', path.join(root, 'server', 'rollout', 'preflight-probe.ts')];
        },
        readOnlyPaths: probeCodePaths(root),
        scratchTmp: true,
        cwd: root,
        // fd 3 carries the probe's stage lines; stdout and stderr are whatever the module prints.
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      });
    } catch (error) {
      return resolve({ ok: false, report: (error as Error).message, timings });
    }
    let stage = 'starting the probe';
    let overrun = `starting the probe took more than ${LOAD_LIMIT_MS / 1000} s`;
    let result: PreflightResult | null = null;
    let output = '';
    let timer = setTimeout(() => child.kill('SIGKILL'), LOAD_LIMIT_MS);
    const onLine = (line: ProbeLine) => {
      if (line.stage === 'opening') {
        if (subject.identityLimitMs === undefined) return;
        stage = 'dlopen and the identity calls';
        clearTimeout(timer);
        timer = setTimeout(() => child.kill('SIGKILL'), subject.identityLimitMs);
        overrun = `loading and the identity calls took more than ${subject.identityLimitMs / 1000} s`;
      } else if (line.stage === 'loaded') {
        if (subject.identityLimitMs !== undefined) return;
        timings.dlopenMs = line.dlopenMs;
        stage = 'hp_init';
        overrun = `loading or hp_init took more than ${LOAD_LIMIT_MS / 1000} s`;
      } else if (line.stage === 'self-test') {
        stage = 'hp_self_test';
        clearTimeout(timer);
        timer = setTimeout(() => child.kill('SIGKILL'), subject.selfTestLimitMs);
        overrun = `hp_self_test ran past its ${subject.selfTestLimitMs / 1000} s limit`;
      } else {
        Object.assign(timings, { initMs: line.initMs, selfTestMs: line.selfTestMs });
        result = { ok: line.ok, report: line.report, timings };
      }
    };
    let pending = '';
    (child.stdio[3] as Readable).on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop()!;
      for (const text of lines) {
        const line = parseLine(text);
        if (line) onLine(line);
      }
    });
    const keepTail = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-2000));
    child.stdout!.on('data', keepTail);
    child.stderr!.on('data', keepTail);
    child.on('close', (exitCode, exitSignal) => {
      const { code, signal } = programExit(child, exitCode, exitSignal);
      clearTimeout(timer);
      if (result) return resolve(result);
      const how = signal === 'SIGKILL' ? overrun : `the probe died (${signal ? `signal ${signal}` : `exit ${code}`}) during ${stage}`;
      resolve({ ok: false, report: `${how}${output.trim() ? `; last output: ${output.trim().slice(-600)}` : ''}`, timings });
    });
    child.stdin!.end(JSON.stringify(sandboxed));
  });
}

/**
 * The upload's identity probe: the same throwaway probe process (and so the same sandbox) as a preflight, stopped
 * after hp_abi_version, hp_module_name and hp_module_version; hp_init is never called.
 */
export function probeModuleIdentity(subject: { path: string; module: string; version: string; limitMs: number }): Promise<PreflightResult> {
  return runProbe(
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
  return runProbe(subject, timings);
};
