import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { putLiveApproved } from '../testing/approved-desired';
import { freePort, processCommandLine, processDescendants, processRunning } from '../testing/processes';

// SIGTERM and SIGINT to a console process (what instrumentation.ts runs inside `npm start`) with its real embedded
// host and that host's sandboxed process cells: the whole tree drains and exits; a second signal stops it at once.
// Survivors are looked for in /proc, by the pids the tree had before the signal.

interface ConsoleRun {
  child: ChildProcess;
  hostPort: number;
  stderr: string[];
  /** Every pid the tree had when it was last looked at: killed after the tests should any have survived. */
  seen: Map<number, string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | false> | T | null | false, timeoutMs: number, stderr: string[] = []): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${stderr.join('').slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('console shutdown on SIGTERM/SIGINT, with the embedded host and its process cells', () => {
  let f: ConsoleFixture;
  const runs: ConsoleRun[] = [];

  before(async () => {
    f = await createConsoleFixture();
    for (const version of ['1.2.5']) {
      const result = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', version, 'hang'), module: 'ledger', version }));
      assert.equal(result.outcome, 'accepted', result.message);
    }
    // The 4th request never returns: the second test holds the drain open with it. Its timeout and drain deadline
    // are far above what the tests wait, so only the shutdown can end that call.
    await putLiveApproved(f.db, f.actor, {
      module: 'ledger',
      versions: [{ version: '1.2.5', weight: 100, isolation: 'process', config: 'alice 1000\nbob 0\n' }],
      requestTimeoutMs: 300_000,
      drainDeadlineMs: 300_000,
    });
  });

  after(() => {
    for (const run of runs) {
      // Only a pid that still runs the same command line: never a number the kernel has since given to another process.
      for (const [pid, command] of [...run.seen, ...processDescendants(run.child.pid!)]) {
        if (processRunning(pid) && processCommandLine(pid) === command) process.kill(pid, 'SIGKILL');
      }
      run.child.kill('SIGKILL');
    }
  });

  async function startConsole(deadlineMs = 240_000): Promise<ConsoleRun> {
    const hostPort = await freePort();
    const stderr: string[] = [];
    const child = fork(path.resolve('server/bootstrap/console-process.ts'), [], {
      // As under `next start` without NEXT_MANUAL_SIG_HANDLE: a handler that would exit before the drain is there first.
      execArgv: ['--conditions=react-server', '--import', 'tsx', '--import', path.resolve('server/bootstrap/fixtures/next-signal-handler.mjs')],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: {
        ...process.env,
        HOTPLANE_EMBEDDED_HOST: '1',
        HOTPLANE_HOST_PORT: String(hostPort),
        HOTPLANE_FLEET_PORT: String(await freePort()),
        HOTPLANE_FLEET_BIND: '127.0.0.1',
        HOTPLANE_SHUTDOWN_DEADLINE_MS: String(deadlineMs),
      },
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => stderr.push(text));
    const exit = new Promise<ConsoleRun['exit'] extends Promise<infer T> ? T : never>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, atMs: Date.now() })),
    );
    const run = { child, hostPort, stderr, exit, seen: new Map<number, string>() };
    runs.push(run);
    const ready = new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code, signal) => reject(new Error(`the console exited (${code ?? signal}) before it was ready: ${stderr.join('').slice(-2000)}`)));
    });
    await ready;
    await waitFor('ledger served by a process cell of the embedded host', async () => (await invoke(run, 'balance alice').catch(() => null))?.status === 200, 180_000, stderr);
    return run;
  }

  const invoke = (run: ConsoleRun, body: string) =>
    fetch(`http://127.0.0.1:${run.hostPort}/v1/invoke/ledger`, { method: 'POST', body, signal: AbortSignal.timeout(300_000) });

  function treeOf(run: ConsoleRun) {
    const tree = processDescendants(run.child.pid!);
    for (const [pid, command] of tree) run.seen.set(pid, command);
    const cells = [...tree].filter(([, command]) => command.includes('cell-child'));
    const hosts = [...tree].filter(([, command]) => command.includes('--host-id'));
    assert.equal(hosts.length, 1, `one embedded host in ${JSON.stringify([...tree])}`);
    assert.ok(cells.length >= 1, `a process cell in ${JSON.stringify([...tree])}`);
    return tree;
  }

  it('SIGTERM drains and stops the console, its embedded host and every cell, and exits 0', async () => {
    const run = await startConsole();
    const tree = treeOf(run);
    run.child.kill('SIGTERM');
    const exit = await run.exit;
    assert.deepEqual([exit.code, exit.signal], [0, null], run.stderr.join('').slice(-2000));
    assert.match(run.stderr.join(''), /SIGTERM: draining the console, its embedded host and its cells/);
    const survivors = await waitFor('no survivor', () => ([...tree.keys()].some(processRunning) ? null : true), 10_000).catch(() => false);
    assert.equal(survivors, true, `still running: ${JSON.stringify([...tree].filter(([pid]) => processRunning(pid)))}`);
  });

  it('a second SIGINT while a call holds the drain open stops everything at once', async () => {
    const run = await startConsole();
    for (let i = 0; i < 2; i += 1) assert.equal((await invoke(run, 'balance alice')).status, 200);
    const stuck = invoke(run, 'balance alice').catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const tree = treeOf(run);
    run.child.kill('SIGINT');
    await waitFor('the drain to start', () => run.stderr.join('').includes('SIGINT: draining'), 30_000, run.stderr);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(processRunning(run.child.pid!), true, 'the stuck call holds the drain open');
    const secondAt = Date.now();
    run.child.kill('SIGINT');
    const exit = await run.exit;
    assert.equal(exit.code, 130, run.stderr.join('').slice(-2000));
    assert.ok(exit.atMs - secondAt < 30_000, `stopped at once (took ${exit.atMs - secondAt} ms)`);
    assert.match(run.stderr.join(''), /SIGINT again: stopping at once/);
    const survivors = await waitFor('no survivor', () => ([...tree.keys()].some(processRunning) ? null : true), 10_000).catch(() => false);
    assert.equal(survivors, true, `still running: ${JSON.stringify([...tree].filter(([pid]) => processRunning(pid)))}`);
    assert.ok((await stuck) instanceof Error || !(await stuck as Response).ok, 'the stuck call did not complete normally');
  });

  it('a drain that outlasts the shutdown deadline is cut short: the tree is killed and the console exits 1', async () => {
    const run = await startConsole(4_000);
    for (let i = 0; i < 2; i += 1) await invoke(run, 'balance alice');
    void invoke(run, 'balance alice').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const tree = treeOf(run);
    run.child.kill('SIGTERM');
    const exit = await run.exit;
    assert.equal(exit.code, 1, run.stderr.join('').slice(-2000));
    assert.match(run.stderr.join(''), /the shutdown deadline of 4 s passed: stopping at once/);
    const survivors = await waitFor('no survivor', () => ([...tree.keys()].some(processRunning) ? null : true), 10_000).catch(() => false);
    assert.equal(survivors, true, `still running: ${JSON.stringify([...tree].filter(([pid]) => processRunning(pid)))}`);
  });
});
