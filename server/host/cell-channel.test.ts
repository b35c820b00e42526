// The process cell's shared-memory channel through the real interface: a real child, a real module compiled by gcc
// from cell-fixtures/ring-breaker.c, real sandboxing when bubblewrap is here. Large frames take the socket path in
// order with ring frames; a module scribbling on the channel's memory costs its own cell only.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test, type TestContext } from 'node:test';
import { CellCallError, createCell, type Cell } from './cell.ts';
import { MAX_RING_FRAME } from './cell-ring.ts';
import { projectRoot } from '../paths.ts';

const TIMEOUT_MS = 10_000;
let scratchDir: string;
let breaker: string;

before(async () => {
  scratchDir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-cell-channel-'));
  breaker = path.join(scratchDir, 'ring-breaker.so');
  const source = path.join(projectRoot(), 'server', 'host', 'cell-fixtures', 'ring-breaker.c');
  await promisify(execFile)('gcc', ['-O1', '-shared', '-fPIC', '-I', path.join(projectRoot(), 'modules'), '-o', breaker, source]);
});

after(() => rmSync(scratchDir, { recursive: true, force: true }));

async function breakerCell(t: TestContext): Promise<Cell> {
  const cell = createCell({ path: breaker, isolation: 'process', goRuntime: false });
  t.after(() => cell.dispose());
  await cell.open();
  assert.equal((await cell.init(new Uint8Array(0))).code, 0);
  return cell;
}

function bytes(length: number, seed: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) buffer[i] = (i * 31 + seed) & 0xff;
  return buffer;
}

test('bodies larger than a ring frame travel both ways, in order with the small calls around them', async (t) => {
  const cell = await breakerCell(t);
  const sizes = [10, MAX_RING_FRAME + 1, 20, 3 * 1024 * 1024, 0, MAX_RING_FRAME - 13, 30];
  const answers = await Promise.all(sizes.map((size, i) => cell.handle(bytes(size, i), TIMEOUT_MS)));
  answers.forEach(({ code, body }, i) => {
    assert.equal(code, 0);
    assert.ok(body.equals(bytes(sizes[i], i)), `call ${i} (${sizes[i]} bytes) got ${body.length} other bytes`);
  });
});

test('a state of several MiB is exported and imported through the cell', async (t) => {
  const from = await breakerCell(t);
  const state = bytes(5 * 1024 * 1024, 7);
  assert.equal((await from.handle(state, TIMEOUT_MS)).code, 0);
  const exported = await from.exportState(TIMEOUT_MS);
  assert.ok(exported?.equals(state));
  const to = await breakerCell(t);
  assert.equal(await to.importState(exported!, TIMEOUT_MS), 0);
  assert.ok((await to.exportState(TIMEOUT_MS))?.equals(state));
});

test('many more calls than the ring holds at once are queued and all answered in order', async (t) => {
  const cell = await breakerCell(t);
  const calls = Array.from({ length: 200 }, (_, i) => cell.handle(bytes(16 * 1024, i), TIMEOUT_MS));
  (await Promise.all(calls)).forEach(({ body }, i) => assert.ok(body.equals(bytes(16 * 1024, i)), `call ${i}`));
});

test('attack: the module cannot resize the channel memfd under the host (it is sealed)', async (t) => {
  const cell = await breakerCell(t);
  assert.equal((await cell.handle(Buffer.from('truncate'), TIMEOUT_MS)).code, 0);
  assert.equal((await cell.handle(Buffer.from('still here'), TIMEOUT_MS)).body.toString(), 'still here');
});

for (const how of ['tail', 'length', 'padding']) {
  test(`attack: a module scribbling a bad reply ${how} into the ring fails its cell's calls, the host carries on`, async (t) => {
    const cell = await breakerCell(t);
    const deaths: CellCallError[] = [];
    cell.onDeath((error) => deaths.push(error));
    const error = await cell.handle(Buffer.from(`attack ${how}`), TIMEOUT_MS).then(
      () => assert.fail('the attacking call answered'),
      (e: unknown) => e as CellCallError,
    );
    assert.ok(error instanceof CellCallError);
    assert.equal(error.kind, 'crashed');
    assert.match(error.message, /broke the cell protocol/);
    assert.equal(cell.alive, false);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(deaths.length, 1);
    // The host is unharmed: a new cell of the same module serves.
    const next = await breakerCell(t);
    assert.equal((await next.handle(Buffer.from('after'), TIMEOUT_MS)).body.toString(), 'after');
  });
}

test('attack: a module moving the request head past the tail fails its cell on the next call', async (t) => {
  const cell = await breakerCell(t);
  const attacking = cell.handle(Buffer.from('attack head'), TIMEOUT_MS).catch((e: unknown) => e as CellCallError);
  // The module sleeps after the scribble; the next call is the host's next look at the head.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const next = await cell.handle(Buffer.from('next'), TIMEOUT_MS).catch((e: unknown) => e as CellCallError);
  for (const outcome of [await attacking, next]) {
    assert.ok(outcome instanceof CellCallError, `not rejected: ${JSON.stringify(outcome)}`);
    assert.match(outcome.message, /broke the cell protocol|was killed/);
  }
  assert.equal(cell.alive, false);
});

// Without bubblewrap's --die-with-parent, the doorbell is what tells a cell its host is gone: the host's end of the
// pipe closes with the host, and the parked child reads EOF.
test('an unsandboxed cell child exits when its host process is killed', async (t) => {
  const script = path.join(scratchDir, 'doomed-host.mts');
  const cellModule = path.join(projectRoot(), 'server', 'host', 'cell.ts');
  writeFileSync(
    script,
    `import { createCell } from ${JSON.stringify(cellModule)};
const cell = createCell({ path: ${JSON.stringify(breaker)}, isolation: 'process', goRuntime: false,
  sandbox: { bwrapPath: '/nonexistent/bwrap', demoMode: true, allowUnsandboxed: true } });
await cell.open();
await cell.handle(Buffer.from('echo'), 10_000);
console.log('cell ' + cell.pid);
setInterval(() => {}, 1_000);
`,
  );
  const host = spawn(process.execPath, ['--conditions=react-server', '--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => host.kill('SIGKILL'));
  let output = '';
  const childPid = await new Promise<number>((resolve, reject) => {
    host.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /cell (\d+)/.exec(output);
      if (found) resolve(Number(found[1]));
    });
    host.once('exit', () => reject(new Error(`the host exited before its cell answered: ${output}`)));
  });
  assert.ok(processAlive(childPid));
  host.kill('SIGKILL');
  const deadline = Date.now() + 10_000;
  while (processAlive(childPid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(processAlive(childPid), false, `cell child ${childPid} outlived its host`);
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie waiting for a reaper has exited.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}
