// The child process of a process cell (process-cell.ts runs it, compiled to one plain .mjs): loads one module with
// ModuleLibrary and answers the host's request frames, one at a time, in order (cell-protocol.ts, cell-ring.ts).
//
// It never runs the event loop: it polls the request ring, makes the module call synchronously and writes the reply
// into the reply ring. That is the shortest path a request can take through a process, it serialises module calls
// by construction (the ABI's rule), and a module that hangs hangs only this loop, which the host kills. With no
// request waiting it spins for its SpinBudget (a sequential caller's next call usually arrives within it, and is then
// picked up without any system call), then parks in a blocking read of its doorbell; EOF there (the host closed
// the cell or died) ends the process.
import { readSync, writeSync } from 'node:fs';
import koffi from 'koffi';
import { cellLimitsFromArgs } from './cell-limits';
import { CellFd, encodeFrame, FrameReader, NO_STATE_EXPORT, Op, type OpCode } from './cell-protocol';
import { MAX_RING_FRAME, openChildChannel, ringFrameBytes, SpinBudget, type ChannelEnd } from './cell-ring';
import { lowerProcessLimit, ModuleLibrary } from './module-library';

const STDERR_FD = 2;
const READ_BYTES = 64 * 1024;
/**
 * The most an idle child polls before it parks (SpinBudget adapts below it): enough to cover the host's turn-around
 * between a reply and the next sequential call (a few µs, tens on a loaded machine); short, because on a 2-core
 * machine a spinning child takes a core from the host.
 */
const spin = new SpinBudget(0.2);
const EMPTY = Buffer.alloc(0);
const WAKE = Buffer.from([1]);

let library: ModuleLibrary | null = null;

function loaded(): ModuleLibrary {
  if (!library) throw new Error('no module is loaded in this cell');
  return library;
}

function open(path: string): Buffer {
  if (library) throw new Error('a module is already loaded in this cell');
  const started = performance.now();
  const opened = ModuleLibrary.open(path);
  const dlopenMs = performance.now() - started;
  library = opened;
  const identity = {
    abiVersion: opened.abiVersion(),
    name: opened.name(),
    version: opened.version(),
    supportsStateHandOff: opened.supportsStateHandOff,
    dlopenMs,
  };
  // The first line of every crash report: which module this process was running.
  writeSync(STDERR_FD, `hotplane cell ${process.pid}: loaded ${identity.name} ${identity.version} from ${path}\n`);
  return Buffer.from(JSON.stringify(identity));
}

function writeAll(fd: number, bytes: Buffer): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written);
}

function reply(id: number, op: OpCode, code: number, payload: Uint8Array = EMPTY): void {
  if (ringFrameBytes(payload.length) > MAX_RING_FRAME) {
    writeAll(CellFd.BULK_REPLIES, encodeFrame(id, op, code, payload));
    return post(id, Op.BULK, 0, EMPTY);
  }
  post(id, op, code, payload);
}

// A full reply ring waits for the host to read (it rings this child's doorbell after reading when it is parked).
function post(id: number, op: OpCode, code: number, payload: Uint8Array): void {
  let posted = channel.out.write(id, op, code, payload);
  while (!posted) idle(() => (posted = channel.out.write(id, op, code, payload)), true);
  if (channel.peer.takeSleeper()) writeSync(CellFd.WAKE_HOST, WAKE);
}

function answer(id: number, op: number, payload: Buffer): void {
  switch (op) {
    case Op.HANDLE: {
      const response = loaded().handle(payload);
      return reply(id, op, response.code, response.body);
    }
    case Op.HEALTH:
      return reply(id, op, loaded().health());
    case Op.INIT:
      return reply(id, op, loaded().init(payload));
    case Op.SELF_TEST: {
      const { code, report } = loaded().selfTest();
      return reply(id, op, code, Buffer.from(report));
    }
    case Op.EXPORT_STATE: {
      const state = loaded().exportState();
      return state === null ? reply(id, op, NO_STATE_EXPORT) : reply(id, op, 0, state);
    }
    case Op.IMPORT_STATE:
      return reply(id, op, loaded().importState(payload));
    case Op.OPEN:
      return reply(id, op, 0, open(payload.toString('utf8')));
    case Op.SHUTDOWN:
      // No dlclose: the process exit unloads everything, and it is the only way to retire a Go runtime.
      library?.shutdown();
      reply(id, op, 0);
      return process.exit(0);
    default:
      throw new Error(`unknown op ${op}`);
  }
}

function onFrame(id: number, op: number, payload: Buffer): void {
  try {
    answer(id, op, payload);
  } catch (error) {
    reply(id, Op.FAILED, 0, Buffer.from(error instanceof Error ? error.message : String(error)));
  }
}

const bulkFrames: Array<{ id: number; op: number; payload: Buffer }> = [];
const bulkReader = new FrameReader((id, op, _code, payload) => bulkFrames.push({ id, op, payload: Buffer.from(payload) }));
const bulkInput = Buffer.allocUnsafe(READ_BYTES);

function nextBulkFrame(): { id: number; op: number; payload: Buffer } {
  while (bulkFrames.length === 0) {
    const bytes = readSync(CellFd.BULK_REQUESTS, bulkInput, 0, bulkInput.length, null);
    if (bytes === 0) process.exit(0);
    bulkReader.push(bulkInput.subarray(0, bytes));
  }
  return bulkFrames.shift()!;
}

const doorbell = Buffer.allocUnsafe(64);
// Polling yields between looks: on a machine with more runnable processes than cores the host may be waiting for
// this very CPU, and a poller that never sleeps would otherwise keep it from running until the time slice ends.
const yieldCpu = koffi.load('libc.so.6').func('int sched_yield(void)');

/** Spins until `ready`, then parks on the doorbell; returns once `ready` said yes. */
function idle(ready: () => boolean, forRoom = false): void {
  if (ready()) return;
  const started = performance.now();
  const until = started + spin.allowanceMs(started);
  for (let spins = 1; ; spins++) {
    if (ready()) return spin.won();
    if ((spins & 15) === 0) {
      if (performance.now() > until) break;
      yieldCpu();
    }
  }
  spin.parking();
  for (;;) {
    // Parked first, checked again after: the host publishes then looks at the flag, so one of us sees the other.
    channel.self.park(forRoom);
    if (ready()) break;
    if (readSync(CellFd.WAKE_CHILD, doorbell, 0, doorbell.length, null) === 0) process.exit(0);
    if (ready()) break;
  }
  channel.self.unpark();
  spin.woken();
}

// The caps go on before the first frame is read, so the module is under them from dlopen and hp_init on; Node is
// already up, so its start-up never runs into them. A cell that cannot be capped does not run at all.
const limits = cellLimitsFromArgs(process.argv.slice(2));
try {
  if (limits.memoryMiB > 0) lowerProcessLimit('data', limits.memoryMiB * 1024 * 1024);
  if (limits.openFiles > 0) lowerProcessLimit('nofile', limits.openFiles);
} catch (error) {
  writeSync(STDERR_FD, `hotplane cell ${process.pid}: cannot apply its caps: ${(error as Error).message}\n`);
  process.exit(1);
}

const channel: ChannelEnd = openChildChannel(CellFd.CHANNEL);
const hasRequest = () => channel.in.pending;
const onRingFrame = (id: number, op: number, _code: number, payload: Buffer) => {
  if (op !== Op.BULK) return onFrame(id, op, payload);
  const frame = nextBulkFrame();
  onFrame(frame.id, frame.op, frame.payload);
};
for (;;) {
  idle(hasRequest);
  channel.in.read(onRingFrame);
}
