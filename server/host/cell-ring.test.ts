// The ring's own rules over plain memory: frames in order across the wrap, a full ring refusing rather than
// overwriting, and a reader refusing counters and lengths its writer could not have produced.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { cpuOversubscribed, MAX_RING_FRAME, REGION_BYTES, Ring, RING_CAPACITY, RingCorrupt, SpinBudget, ringFrameBytes } from './cell-ring.ts';

const TAIL = 0;
const HEAD = 16;

function ringPair() {
  const region = new ArrayBuffer(REGION_BYTES);
  return { region, writer: new Ring(region, 4096, TAIL, HEAD), reader: new Ring(region, 4096, TAIL, HEAD) };
}

function readAll(reader: Ring): Array<{ id: number; op: number; code: number; payload: string }> {
  const frames: Array<{ id: number; op: number; code: number; payload: string }> = [];
  reader.read((id, op, code, payload) => void frames.push({ id, op, code, payload: payload.toString() }));
  return frames;
}

test('frames come out in order with their id, op, code and payload, across many wraps of the ring', () => {
  const { writer, reader } = ringPair();
  const payload = 'x'.repeat(70_001);
  for (let i = 0; i < 200; i++) {
    assert.equal(writer.write(i, 4, -i - 1, Buffer.from(`${i}${payload}`)), true);
    assert.equal(writer.write(i + 1000, 5, i, Buffer.alloc(0)), true);
    assert.deepEqual(readAll(reader), [
      { id: i, op: 4, code: -i - 1, payload: `${i}${payload}` },
      { id: i + 1000, op: 5, code: i, payload: '' },
    ]);
  }
});

test('a full ring refuses a frame until the reader frees room, and loses nothing', () => {
  const { writer, reader } = ringPair();
  const frame = Buffer.alloc(MAX_RING_FRAME - 13, 1);
  let written = 0;
  while (writer.write(written, 4, 0, frame)) written++;
  assert.equal(written, Math.floor(RING_CAPACITY / ringFrameBytes(frame.length)));
  assert.equal(readAll(reader).length, written);
  assert.equal(writer.write(written, 4, 0, frame), true);
});

test('a reader stopped by its handler resumes at the next frame', () => {
  const { writer, reader } = ringPair();
  for (let i = 0; i < 3; i++) writer.write(i, 4, 0, Buffer.from(String(i)));
  assert.equal(reader.read(() => false), 1);
  assert.deepEqual(readAll(reader).map((f) => f.id), [1, 2]);
});

test('attack: counters and lengths the writer could not have produced are refused before any byte is read', () => {
  const cases: Array<[string, (words: Int32Array, data: DataView) => void]> = [
    ['tail beyond the capacity', (words) => (words[TAIL] = RING_CAPACITY + 4)],
    ['tail behind the head', (words) => (words[TAIL] = -4)],
    ['length below a header', (words, data) => ((words[TAIL] = 16), data.setUint32(0, 3, true))],
    ['length past the published bytes', (words, data) => ((words[TAIL] = 16), data.setUint32(0, 100, true))],
    ['length past the end of the ring', (words, data) => ((words[TAIL] = RING_CAPACITY), data.setUint32(0, 0xfffffff0, true))],
    ['padding past the published bytes', (words, data) => ((words[TAIL] = 8), data.setUint32(0, 0, true))],
    ['a published count shorter than a length', (words) => (words[TAIL] = 2)],
  ];
  for (const [what, scribble] of cases) {
    const { region, reader } = ringPair();
    scribble(new Int32Array(region, 0, 1024), new DataView(region, 4096));
    assert.throws(() => reader.read(() => assert.fail(`${what}: a frame was handed out`)), RingCorrupt, what);
  }
  const { region, writer } = ringPair();
  new Int32Array(region, 0, 1024)[HEAD] = 64;
  assert.throws(() => writer.write(1, 4, 0, Buffer.alloc(0)), RingCorrupt, 'head moved past the tail');
});

test('with more runnable processes than cores neither side polls: the spin allowance drops to nothing', async (t) => {
  // Two more busy processes than cores keep the run queue above the core count whatever else the machine does.
  const busy = Array.from({ length: availableParallelism() + 2 }, () => spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }));
  t.after(() => busy.forEach((child) => child.kill('SIGKILL')));
  const budget = new SpinBudget(0.2);
  const deadline = Date.now() + 10_000;
  while (!cpuOversubscribed(performance.now()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(cpuOversubscribed(performance.now()), true, 'the run queue is seen above the core count');
  assert.equal(budget.allowanceMs(performance.now()), 0);
  assert.equal(budget.ms, 0.2, 'the learned budget is kept for when the machine is free again');
});
