// In-process cells against real modules. Each test disposes what it opens: glibc shares one instance of a file per
// process, so a forgotten cell would keep a library mapped and spoil the residency checks.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, before, type TestContext } from 'node:test';
import { buildExampleModules, exampleModulePath } from '../demo/example-modules.ts';
import { CellCallError, createCell } from './cell.ts';
import { InprocCell } from './inproc-cell.ts';
import { isLibraryResident } from './module-library.ts';

let modulesDir: string;
const text = (s: string) => Buffer.from(s);

before(async () => {
  modulesDir = await buildExampleModules();
});

function ledgerPath(version: string, variant = 'standard'): string {
  return exampleModulePath(modulesDir, 'ledger', version, variant);
}

async function ledgerCell(t: TestContext, version: string, variant = 'standard'): Promise<InprocCell> {
  const cell = createCell({ path: ledgerPath(version, variant), isolation: 'inproc', goRuntime: false });
  assert.ok(cell instanceof InprocCell);
  t.after(() => cell.dispose());
  await cell.open();
  return cell;
}

test('an inproc ledger cell answers like the module, through handle and handleSync', async (t) => {
  const cell = createCell({ path: ledgerPath('1.1.0'), isolation: 'inproc', goRuntime: false }) as InprocCell;
  t.after(() => cell.dispose());
  const identity = await cell.open();
  assert.deepEqual({ ...identity, dlopenMs: 0 }, { abiVersion: 1, name: 'ledger', version: '1.1.0', supportsStateHandOff: true, dlopenMs: 0 });
  assert.equal(cell.isolation, 'inproc');
  assert.equal(cell.pid, undefined);
  assert.equal(cell.alive, true);
  assert.equal((await cell.init(text('alice 1000\nbob 0\n'))).code, 0);
  const moved = await cell.handle(text('transfer alice bob 100'), 1_000);
  assert.deepEqual([moved.code, moved.body.toString()], [0, 'transferred 100 from alice to bob, fee 1 to fees; alice 899, bob 100']);
  const balance = cell.handleSync(text('balance alice'));
  assert.deepEqual([balance.code, balance.body.toString()], [0, 'alice 899']);
  assert.equal(cell.handleSync(text('balance nobody')).code, 2);
  assert.equal(await cell.health(1_000), 0);
  const selfTest = await cell.selfTest(1_000);
  assert.equal(selfTest.code, 0);
  assert.match(selfTest.report, /ledger 1\.1\.0 self-test: PASS/);
});

test('state moves from an inproc 1.0.0 cell to an inproc 1.1.0 cell', async (t) => {
  const from = await ledgerCell(t, '1.0.0');
  const to = await ledgerCell(t, '1.1.0');
  await from.init(text('alice 1000\nbob 0\n'));
  await to.init(new Uint8Array(0));
  from.handleSync(text('transfer alice bob 300'));
  const state = await from.exportState(1_000);
  assert.equal(state?.toString(), 'hotplane-ledger/1\nalice 700\nbob 300\n');
  assert.equal(await to.importState(state!, 1_000), 0);
  assert.equal(to.handleSync(text('balance bob')).body.toString(), 'bob 300');
});

test('a self-test failure comes back as its code and report', async (t) => {
  const cell = await ledgerCell(t, '1.2.1', 'self-test-fail');
  await cell.init(new Uint8Array(0));
  const result = await cell.selfTest(1_000);
  assert.equal(result.code, 1);
  assert.match(result.report, /total conserved: FAIL/);
});

test('dispose unmaps a plain C module and reports one that stays resident', async () => {
  for (const [file, resident] of [[ledgerPath('1.0.0'), false], [ledgerPath('1.2.12', 'resident'), true]] as const) {
    const cell = createCell({ path: file, isolation: 'inproc', goRuntime: false });
    await cell.open();
    await cell.init(new Uint8Array(0));
    assert.equal(isLibraryResident(file), true);
    const disposed = await cell.dispose();
    assert.equal(disposed.resident, resident, file);
    assert.equal(isLibraryResident(file), resident, file);
    if (resident) assert.match(disposed.detail ?? '', /still mapped/);
    assert.equal(cell.alive, false);
  }
});

test('a disposed inproc cell refuses every call as closed and never calls into the library again', async () => {
  const cell = createCell({ path: ledgerPath('1.0.0'), isolation: 'inproc', goRuntime: false }) as InprocCell;
  await cell.open();
  await cell.init(new Uint8Array(0));
  const disposal = cell.dispose();
  assert.equal(cell.dispose(), disposal);
  await disposal;
  for (const call of [cell.handle(text('balance alice'), 1_000), cell.health(1_000), cell.exportState(1_000), cell.init(new Uint8Array(0))]) {
    await assert.rejects(call, (error) => error instanceof CellCallError && error.kind === 'closed' && /is disposed/.test(error.message));
  }
  assert.throws(() => cell.handleSync(text('balance alice')), (error) => error instanceof CellCallError && error.kind === 'closed');
});

test('a Go module is refused in-process with the reason', () => {
  const file = exampleModulePath(modulesDir, 'edge-gateway', '1.0.0');
  assert.throws(() => createCell({ path: file, isolation: 'inproc', goRuntime: true }), /Go module and needs its own process/);
});

test('reloading a resident C++ module (thread_local) gives a fresh instance whose counters start from zero', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hotplane-resident-reload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'tlcounter.so');
  const fixtures = path.resolve('server/host/fixtures');
  execFileSync('g++', ['-std=c++17', '-shared', '-fPIC', '-O2', '-I', path.resolve('modules'), '-o', file, path.join(fixtures, 'thread-local-counter.cpp')]);
  const calls = async (cell: InprocCell, count: number) => {
    let last = '';
    for (let i = 0; i < count; i += 1) last = (await cell.handle(text('count'), 1_000)).body.toString();
    return last;
  };

  const first = createCell({ path: file, isolation: 'inproc', goRuntime: false }) as InprocCell;
  await first.open();
  await first.init(new Uint8Array(0));
  assert.equal(await calls(first, 3), 'thread 3 instance 3');
  const disposed = await first.dispose();
  assert.equal(disposed.resident, true, 'control: the thread_local destructor keeps the library mapped after dlclose');

  const again = createCell({ path: file, isolation: 'inproc', goRuntime: false }) as InprocCell;
  t.after(() => again.dispose());
  assert.equal((await again.open()).name, 'tlcounter');
  await again.init(new Uint8Array(0));
  assert.equal(await calls(again, 1), 'thread 1 instance 1', 'a new instance, not the old one after its hp_shutdown');
  assert.equal(again.freshCopy, true);
  assert.deepEqual(readdirSync(dir), ['tlcounter.so'], 'the copy is unlinked once mapped');
  const mappings = readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.includes('tlcounter.so'));
  assert.ok(mappings.some((line) => line.includes('.fresh-instance-') && line.endsWith('(deleted)')), mappings.join('\n'));

  // No fresh copy possible (here: the file and its folder are gone while an instance stays mapped): refused, with why.
  await again.dispose();
  rmSync(dir, { recursive: true, force: true });
  const refused = createCell({ path: file, isolation: 'inproc', goRuntime: false });
  await assert.rejects(refused.open(), /still resident \(dlclose could not unmap it\) and no fresh copy could be made .*refused rather than reusing the old instance/);
});
