// Process cells against real modules (scripts/build-modules.mjs) in real child processes, fault variants included.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { buildExampleModules, exampleModulePath } from '../demo/example-modules.ts';
import { CellCallError, createCell, type Cell } from './cell.ts';
import type { CellLimits } from './cell-limits.ts';

let modulesDir: string;
let scratchDir: string;
const text = (s: string) => Buffer.from(s);
const ledgerConfig = text('alice 1000\nbob 0\n');
const TIMEOUT_MS = 2_000;

before(async () => {
  modulesDir = await buildExampleModules();
  scratchDir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-process-cell-'));
});

after(() => rmSync(scratchDir, { recursive: true, force: true }));

function ledgerPath(version: string, variant = 'standard'): string {
  return exampleModulePath(modulesDir, 'ledger', version, variant);
}

async function openedCell(t: TestContext, file: string, options: { goRuntime?: boolean; limits?: CellLimits } = {}): Promise<Cell> {
  const cell = createCell({ path: file, isolation: 'process', goRuntime: options.goRuntime ?? false, limits: options.limits });
  t.after(() => cell.dispose());
  await cell.open();
  return cell;
}

async function ledgerCell(t: TestContext, version: string, variant = 'standard'): Promise<Cell> {
  const cell = await openedCell(t, ledgerPath(version, variant));
  assert.equal((await cell.init(ledgerConfig)).code, 0);
  return cell;
}

async function answer(cell: Cell, request: string): Promise<string> {
  const { code, body } = await cell.handle(text(request), TIMEOUT_MS);
  assert.equal(code, 0, body.toString());
  return body.toString();
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

async function rejection(promise: Promise<unknown>): Promise<CellCallError> {
  const error = await promise.then(
    () => assert.fail('expected the call to reject'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CellCallError, `not a CellCallError: ${error}`);
  return error;
}

test('ledger 1.0.0 and 1.1.0 side by side each answer with their own behaviour', async (t) => {
  const [v1, v2] = await Promise.all([ledgerCell(t, '1.0.0'), ledgerCell(t, '1.1.0')]);
  assert.notEqual(v1.pid, v2.pid);
  assert.equal(v1.isolation, 'process');
  assert.equal(await answer(v1, 'transfer alice bob 100'), 'transferred 100 from alice to bob; alice 900, bob 100');
  assert.equal(
    await answer(v2, 'transfer alice bob 100'),
    'transferred 100 from alice to bob, fee 1 to fees; alice 899, bob 100',
  );
  assert.equal(await v1.health(TIMEOUT_MS), 0);
  const refused = await v1.handle(text('transfer alice bob 5000'), TIMEOUT_MS);
  assert.equal(refused.code, 1);
  assert.match(refused.body.toString(), /insufficient funds/);
});

test('open reports the identity measured in the child', async (t) => {
  const cell = createCell({ path: ledgerPath('1.1.0'), isolation: 'process', goRuntime: false });
  t.after(() => cell.dispose());
  const identity = await cell.open();
  assert.equal(identity.abiVersion, 1);
  assert.equal(identity.name, 'ledger');
  assert.equal(identity.version, '1.1.0');
  assert.equal(identity.supportsStateHandOff, true);
  assert.ok(identity.dlopenMs > 0 && identity.dlopenMs < 1_000);
  assert.equal(identity.pid, cell.pid);
  assert.ok(processExists(cell.pid!));
});

test('a pipelined burst of 1,000 transfers answers every call, in order, to the right caller', async (t) => {
  const cell = await openedCell(t, ledgerPath('1.0.0'));
  assert.equal((await cell.init(text('alice 1000000\nbob 0\n'))).code, 0);
  const calls = Array.from({ length: 1_000 }, (_, i) => cell.handle(text(`transfer alice bob ${i + 1}`), TIMEOUT_MS));
  const answers = await Promise.all(calls);
  let alice = 1_000_000;
  let bob = 0;
  answers.forEach((reply, i) => {
    const amount = i + 1;
    alice -= amount;
    bob += amount;
    assert.equal(reply.code, 0);
    assert.equal(reply.body.toString(), `transferred ${amount} from alice to bob; alice ${alice}, bob ${bob}`);
  });
});

test('a timeout bounds how long a call runs in the module, not how long it queued', async (t) => {
  const cell = await ledgerCell(t, '1.2.2', 'slow'); // 250 ms per request
  const started = performance.now();
  const answers = await Promise.all([1, 2, 3].map(() => cell.handle(text('balance alice'), 400)));
  assert.ok(performance.now() - started >= 700, 'three slow calls ran one after another');
  assert.deepEqual(answers.map((a) => a.code), [0, 0, 0]);
  assert.equal(cell.alive, true);
});

test('the work queued in a cell is the calls waiting times how long a call has been running in it', async (t) => {
  const cell = await ledgerCell(t, '1.2.2', 'slow'); // 250 ms per request
  assert.equal(cell.queuedWorkMs(), 0, 'nothing queued');
  await cell.handle(text('balance alice'), TIMEOUT_MS);
  assert.equal(cell.queuedWorkMs(), 0, 'nothing queued, whatever a call takes');
  const calls = [1, 2, 3, 4].map(() => cell.handle(text('balance alice'), TIMEOUT_MS));
  const queued = cell.queuedWorkMs();
  assert.ok(queued >= 4 * 245 && queued < 4 * 1000, `4 calls of ~250 ms queued: ${queued.toFixed(0)} ms`);
  await Promise.all(calls);
  assert.equal(cell.queuedWorkMs(), 0);
});

test('a SIGSEGV kills only its own cell: the call running rejects crashed with the signal and the output tail, the calls behind it not-run', async (t) => {
  const crashing = await ledgerCell(t, '1.2.4', 'crash'); // the 4th hp_handle dies
  const healthy = await ledgerCell(t, '1.0.0');
  const deaths: CellCallError[] = [];
  crashing.onDeath((error) => deaths.push(error));
  const pid = crashing.pid!;
  const calls = Array.from({ length: 6 }, () => crashing.handle(text('balance alice'), TIMEOUT_MS));
  for (const call of calls.slice(0, 3)) assert.equal((await call).body.toString(), 'alice 1000');
  const crashed = await rejection(calls[3]);
  assert.equal(crashed.kind, 'crashed');
  assert.equal(crashed.signal, 'SIGSEGV');
  assert.match(crashed.message, /died of SIGSEGV during hp_handle/);
  assert.match(crashed.stderrTail ?? '', /loaded ledger 1\.2\.4 from /);
  for (const call of calls.slice(4)) {
    const error = await rejection(call);
    assert.equal(error.kind, 'not-run');
    assert.equal(error.signal, 'SIGSEGV');
    assert.match(error.message, /died of SIGSEGV before this call reached the module/);
  }
  assert.equal(deaths.length, 1);
  assert.equal(deaths[0].kind, 'crashed');
  assert.equal(crashing.alive, false);
  assert.equal(processExists(pid), false);
  assert.equal((await rejection(crashing.health(TIMEOUT_MS))).kind, 'crashed');
  const late = await new Promise<CellCallError>((resolve) => crashing.onDeath(resolve));
  assert.equal(late, deaths[0], 'a listener added after the death still hears of it');
  assert.equal(await answer(healthy, 'balance alice'), 'alice 1000');
  assert.equal(healthy.alive, true);
});

test('a hanging call times out, the child is killed and gone, the calls behind it reject not-run', async (t) => {
  const cell = await ledgerCell(t, '1.2.5', 'hang'); // the 4th hp_handle never returns
  const deaths: CellCallError[] = [];
  cell.onDeath((error) => deaths.push(error));
  const pid = cell.pid!;
  const timeoutMs = 300;
  for (let i = 0; i < 3; i++) assert.equal(await answer(cell, 'balance bob'), 'bob 0');
  const started = performance.now();
  const hanging = cell.handle(text('balance alice'), timeoutMs);
  const queued = cell.handle(text('balance bob'), timeoutMs);
  const timedOut = await rejection(hanging);
  const elapsed = performance.now() - started;
  assert.equal(timedOut.kind, 'timeout');
  assert.match(timedOut.message, /hp_handle did not answer within 300 ms/);
  assert.ok(elapsed >= timeoutMs - 5 && elapsed < timeoutMs + 400, `timed out after ${elapsed.toFixed(0)} ms`);
  assert.equal(processExists(pid), false, 'the child is gone when the timeout is reported');
  const behind = await rejection(queued);
  assert.equal(behind.kind, 'not-run');
  assert.equal(behind.signal, 'SIGKILL');
  assert.match(behind.message, /was killed before this call reached the module/);
  assert.deepEqual(deaths, [timedOut]);
  assert.equal(cell.alive, false);
});

// A sandboxed cell's pid is bubblewrap's; the module runs in the last process of the chain below it.
function moduleProcess(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return children ? moduleProcess(Number(children.split(' ')[0])) : pid;
}

// "<soft> <hard>" of one line of /proc/<pid>/limits, of the module's process.
function processLimit(pid: number | 'self', name: 'Max data size' | 'Max open files'): string {
  const line = readFileSync(`/proc/${pid === 'self' ? pid : moduleProcess(pid)}/limits`, 'utf8').split('\n').find((l) => l.startsWith(name))!;
  return line.slice(name.length).trim().split(/\s+/).slice(0, 2).join(' ');
}

test('a cell runs under its caps: 1024 MiB of data and 1024 open files unless told otherwise, 0 for none', async (t) => {
  const capped = await ledgerCell(t, '1.0.0');
  assert.equal(processLimit(capped.pid!, 'Max data size'), `${2 ** 30} ${2 ** 30}`);
  assert.equal(processLimit(capped.pid!, 'Max open files'), '1024 1024');
  const uncapped = await openedCell(t, ledgerPath('1.0.0'), { limits: { memoryMiB: 0, openFiles: 0 } });
  assert.equal(processLimit(uncapped.pid!, 'Max data size'), processLimit('self', 'Max data size'));
  assert.equal(processLimit(uncapped.pid!, 'Max open files'), processLimit('self', 'Max open files'));
});

test('a cell leaking 1 MiB a call dies of SIGABRT at its memory cap, and the error names the caps', async (t) => {
  const cell = await openedCell(t, ledgerPath('1.2.14', 'leak-memory'), { limits: { memoryMiB: 192, openFiles: 1024 } });
  assert.equal((await cell.init(ledgerConfig)).code, 0);
  let answered = 0;
  let failure: unknown;
  while (failure === undefined) {
    await cell.handle(text('balance alice'), TIMEOUT_MS).then(() => answered++, (error: unknown) => (failure = error));
  }
  assert.ok(failure instanceof CellCallError, String(failure));
  assert.equal(failure.signal, 'SIGABRT');
  assert.match(failure.message, /died of SIGABRT during hp_handle \(memory 192 MiB, 1024 open files\)/);
  assert.match(failure.stderrTail ?? '', /hp_fault: out of memory after leaking \d+ KiB/);
  // Node's own share of the cell comes out of the same 192 MiB.
  assert.ok(answered > 0 && answered < 192, `${answered} calls answered before the cap`);
  assert.equal(cell.alive, false);
});

test('a cell leaking a descriptor a call fails its calls at the open-file cap and stays up and healthy', async (t) => {
  const cell = await openedCell(t, ledgerPath('1.2.15', 'leak-fd'), { limits: { memoryMiB: 1024, openFiles: 64 } });
  assert.equal((await cell.init(ledgerConfig)).code, 0);
  const codes: number[] = [];
  for (let i = 0; i < 80; i++) codes.push((await cell.handle(text('balance alice'), TIMEOUT_MS)).code);
  const firstFailure = codes.indexOf(-1);
  assert.ok(firstFailure > 0 && firstFailure < 64, `first failure at call ${firstFailure + 1}`);
  assert.deepEqual(codes.slice(firstFailure), codes.slice(firstFailure).map(() => -1));
  assert.equal(cell.alive, true);
  assert.equal(await cell.health(TIMEOUT_MS), 0);
});

test('a module dying in hp_init rejects init as crashed', async (t) => {
  const cell = await openedCell(t, ledgerPath('1.2.6', 'init-crash'));
  const error = await rejection(cell.init(ledgerConfig));
  assert.equal(error.kind, 'crashed');
  assert.equal(error.signal, 'SIGSEGV');
  assert.match(error.message, /during hp_init/);
  assert.equal(cell.alive, false);
});

test('a failing self-test returns its code and report', async (t) => {
  const cell = await ledgerCell(t, '1.2.1', 'self-test-fail');
  const result = await cell.selfTest(TIMEOUT_MS);
  assert.equal(result.code, 1);
  assert.match(result.report, /^ledger 1\.2\.1 self-test: FAIL$/m);
  assert.match(result.report, /total conserved: FAIL/);
  assert.ok(result.ms >= 0);
  const passing = await ledgerCell(t, '1.0.0');
  assert.equal((await passing.selfTest(TIMEOUT_MS)).code, 0);
});

test('state exported from a 1.0.0 cell and imported into a 1.1.0 cell keeps the balances', async (t) => {
  const [from, to] = await Promise.all([ledgerCell(t, '1.0.0'), openedCell(t, ledgerPath('1.1.0'))]);
  assert.equal((await to.init(new Uint8Array(0))).code, 0);
  await answer(from, 'transfer alice bob 250');
  const state = await from.exportState(TIMEOUT_MS);
  assert.ok(state);
  assert.equal(state.toString(), 'hotplane-ledger/1\nalice 750\nbob 250\n');
  assert.equal(await to.importState(state, TIMEOUT_MS), 0);
  assert.equal(await answer(to, 'balance alice'), 'alice 750');
  assert.equal(await answer(to, 'balance bob'), 'bob 250');
  assert.equal(await to.importState(text('not a ledger state'), TIMEOUT_MS), -1);
});

test('the Go module runs in a process cell and is refused in-process', async (t) => {
  const file = exampleModulePath(modulesDir, 'edge-gateway', '1.0.0');
  assert.throws(() => createCell({ path: file, isolation: 'inproc', goRuntime: true }), /needs its own process/);
  if (!existsSync(file)) return t.skip('edge-gateway was not built (no Go toolchain)');
  const cell = createCell({ path: file, isolation: 'process', goRuntime: true });
  t.after(() => cell.dispose());
  const identity = await cell.open();
  assert.equal(identity.name, 'edge-gateway');
  assert.equal(identity.supportsStateHandOff, false);
  assert.equal((await cell.init(new Uint8Array(0))).code, 0);
  assert.equal((await cell.selfTest(TIMEOUT_MS)).code, 0);
  const routed = await cell.handle(text('GET /accounts/alice'), TIMEOUT_MS);
  assert.deepEqual([routed.code, routed.body.toString()], [0, 'route=ledger;request=balance alice']);
  assert.equal(await cell.exportState(TIMEOUT_MS), null);
  const pid = cell.pid!;
  const disposed = await cell.dispose();
  assert.equal(disposed.resident, false);
  assert.match(disposed.detail ?? '', /Go runtime/);
  assert.equal(processExists(pid), false);
});

test('a disposed cell rejects calls as closed; its child has exited and no death is reported', async (t) => {
  const cell = await ledgerCell(t, '1.0.0');
  let died = false;
  cell.onDeath(() => (died = true));
  const pid = cell.pid!;
  const inFlight = cell.handle(text('balance alice'), TIMEOUT_MS);
  const disposal = cell.dispose();
  assert.equal((await rejection(cell.handle(text('balance alice'), TIMEOUT_MS))).kind, 'closed');
  assert.equal((await inFlight).body.toString(), 'alice 1000', 'a call sent before dispose is still answered');
  assert.deepEqual(await disposal, { resident: false, detail: 'child exited with code 0' });
  assert.equal(await cell.dispose(), await disposal);
  assert.equal(processExists(pid), false);
  assert.equal((await rejection(cell.selfTest(TIMEOUT_MS))).kind, 'closed');
  assert.equal(cell.alive, false);
  assert.equal(died, false);
});

test('a file that is not a module fails open with the reason, and its child exits', async () => {
  const notAModule = path.join(scratchDir, 'not-a-module.so');
  writeFileSync(notAModule, 'plain text');
  const cell = createCell({ path: notAModule, isolation: 'process', goRuntime: false });
  await assert.rejects(cell.open(), (error: Error) => !(error instanceof CellCallError) && /dlopen in cell not-a-module\.so/.test(error.message));
  assert.equal(cell.alive, false);
  assert.equal(processExists(cell.pid!), false);
  assert.equal((await rejection(cell.handle(text('x'), TIMEOUT_MS))).kind, 'closed');
});
