// Runs node:test files a few at a time, each in its own process group with a deadline, and prints each file's
// output as one block the moment it ends. Hand-written instead of one `node --test a b c …`: that run prints
// nothing a CI log keeps until every file is done, so a file that hangs leaves a log that names nothing, and
// node:test has no deadline for a file whose event loop is blocked (a stuck native call) or never drains.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const NODE_TEST_ARGS = ['--conditions=react-server', '--import', 'tsx', '--test', '--test-reporter=spec', '--test-force-exit'];
const HEARTBEAT_MS = 60_000;

/** The spec reporter's totals and its "failing tests:" block, where each name follows a "test at <file>:<pos>". */
export function parseSpecOutput(out, file) {
  const passed = Number(/^ℹ pass (\d+)/m.exec(out)?.[1] ?? 0);
  const failed = Number(/^ℹ fail (\d+)/m.exec(out)?.[1] ?? 0);
  const names = [];
  let where = file;
  for (const line of (out.split(/^✖ failing tests:$/m)[1] ?? '').split('\n')) {
    if (line.startsWith('test at ')) where = line.slice('test at '.length);
    else if (line.startsWith('✖ ')) names.push(`  ${line} at ${where}`);
  }
  return { passed, failed, names };
}

/**
 * Processes still alive whose environment carries `marker`: what a test file started and left behind, even when it
 * left its process group. One started with an environment of its own (the embedded host's is a short list) is not
 * found this way; the output pipes are closed on it all the same, so it cannot hold the run.
 */
function processesMarked(marker) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(marker)) pids.push(Number(entry));
    } catch {
      // Gone already, or not ours to read.
    }
  }
  return pids;
}

function killLeftBehind(marker) {
  const pids = processesMarked(marker);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  return pids;
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

function runOne(file, { root, env, testTimeoutMs, deadlineMs }) {
  return new Promise((resolve) => {
    const started = Date.now();
    const marker = `HOTPLANE_TEST_RUN=${process.pid}:${file}`;
    const child = spawn(process.execPath, [...NODE_TEST_ARGS, `--test-timeout=${testTimeoutMs}`, file], {
      cwd: root,
      env: { ...env, HOTPLANE_TEST_RUN: `${process.pid}:${file}` },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const chunks = [];
    child.stdout.on('data', (chunk) => chunks.push(chunk));
    child.stderr.on('data', (chunk) => chunks.push(chunk));
    let killedAtDeadline = false;
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    };
    const deadline = setTimeout(() => {
      killedAtDeadline = true;
      killGroup();
    }, deadlineMs);
    // A process the file left behind can hold its output open for ever: the file is judged when it exits, and what
    // it left gets a moment to finish writing before its process group is killed and named.
    let leftBehind = null;
    let finished = false;
    const finish = (code, signal) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      clearTimeout(leftBehind);
      const strays = killLeftBehind(marker);
      if (strays.length > 0) chunks.push(Buffer.from(`\n!!! ${file} left ${strays.length} process(es) running after it ended (pids ${strays.join(', ')}); they were killed\n`));
      const out = Buffer.concat(chunks).toString('utf8');
      const result = { file, out, ms: Date.now() - started, strays: strays.length, ...parseSpecOutput(out, file) };
      if (killedAtDeadline) {
        result.failed += 1;
        result.names.push(`  ✖ ${file}: still running after ${seconds(deadlineMs)}, killed (its output so far is above)`);
      } else if (code !== 0 && result.failed === 0) {
        result.failed = 1;
        result.names.push(`  ✖ ${file}: exit ${code ?? signal} outside any test`);
      }
      resolve(result);
    };
    child.on('exit', (code, signal) => {
      leftBehind = setTimeout(() => {
        killGroup();
        child.stdout.destroy();
        child.stderr.destroy();
        finish(code, signal);
      }, 3_000);
      child.on('close', () => finish(code, signal));
    });
  });
}

/**
 * Runs `files` at most `concurrency` at a time. Returns the totals, the failed tests' names and the files they
 * are in. A test or a file past `testTimeoutMs` fails by name (node:test times both); a run still going at
 * `deadlineMs` is killed with its whole process group (hosts and cells it started) and fails by its file name.
 */
export async function runTestFiles(files, { root, env, concurrency, testTimeoutMs, deadlineMs, log = console.log }) {
  const queue = [...files];
  const running = new Map();
  const totals = { passed: 0, failed: 0, names: [], failedFiles: [], leftProcesses: [] };
  const heartbeat = setInterval(() => {
    const now = Date.now();
    log(`… still running: ${[...running].map(([file, started]) => `${file} (${seconds(now - started)})`).join(', ')}`);
  }, HEARTBEAT_MS);
  async function worker() {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      running.set(file, Date.now());
      const result = await runOne(file, { root, env, testTimeoutMs, deadlineMs });
      running.delete(file);
      const verdict = result.failed > 0 ? `${result.failed} FAILED, ${result.passed} passed` : `${result.passed} passed`;
      log(`\n--- ${path.normalize(file)}: ${verdict} in ${seconds(result.ms)}`);
      process.stdout.write(result.out);
      totals.passed += result.passed;
      totals.failed += result.failed;
      totals.names.push(...result.names);
      if (result.failed > 0) totals.failedFiles.push(file);
      if (result.strays > 0) totals.leftProcesses.push(`  ${file}: ${result.strays} process(es)`);
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  } finally {
    clearInterval(heartbeat);
  }
  return totals;
}
