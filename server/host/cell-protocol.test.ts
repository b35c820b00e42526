// Framing of the process cell's wire: frames must come out whole and unchanged however the stream is cut.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { encodeFrame, FrameReader, Op } from './cell-protocol.ts';

interface Frame {
  id: number;
  op: number;
  code: number;
  payload: Buffer;
}

function collect(): { reader: FrameReader; frames: Frame[] } {
  const frames: Frame[] = [];
  // Copied: a payload is only guaranteed inside the handler.
  const reader = new FrameReader((id, op, code, payload) => frames.push({ id, op, code, payload: Buffer.from(payload) }));
  return { reader, frames };
}

const sample: Frame[] = [
  { id: 1, op: Op.HANDLE, code: 0, payload: Buffer.from('balance alice') },
  { id: 2, op: Op.HEALTH, code: -1, payload: Buffer.alloc(0) },
  { id: 0xffffffff, op: Op.FAILED, code: -2147483648, payload: Buffer.from('no module is loaded in this cell') },
];
const stream = Buffer.concat(sample.map((f) => encodeFrame(f.id, f.op as never, f.code, f.payload)));

test('frames survive being cut at every byte boundary, with the read buffer reused between pushes', () => {
  for (let cut = 1; cut < stream.length; cut++) {
    const { reader, frames } = collect();
    const scratch = Buffer.alloc(stream.length);
    for (let offset = 0; offset < stream.length; offset += cut) {
      const length = stream.copy(scratch, 0, offset, Math.min(offset + cut, stream.length));
      reader.push(scratch.subarray(0, length));
      scratch.fill(0xee);
    }
    assert.deepEqual(frames, sample, `cut every ${cut} bytes`);
    assert.equal(reader.buffered, 0);
  }
});

test('many frames in one chunk come out in order', () => {
  const { reader, frames } = collect();
  reader.push(Buffer.concat([stream, stream]));
  assert.deepEqual(frames, [...sample, ...sample]);
});

test('a large payload arriving in small chunks is joined once', () => {
  const payload = randomBytes(1024 * 1024);
  const frame = encodeFrame(7, Op.EXPORT_STATE, 0, payload);
  const { reader, frames } = collect();
  for (let offset = 0; offset < frame.length; offset += 1000) reader.push(frame.subarray(offset, offset + 1000));
  assert.equal(frames.length, 1);
  assert.ok(frames[0].payload.equals(payload));
});

test('a frame shorter than its header is refused', () => {
  const { reader } = collect();
  const broken = Buffer.alloc(16);
  broken.writeUInt32LE(3, 0);
  assert.throws(() => reader.push(broken), /bad frame length 3/);
});
