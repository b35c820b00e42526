// The child process of a process cell (process-cell.ts runs it, compiled to one plain .mjs): loads one module with
// ModuleLibrary and answers the host's request frames (fd 3) on fd 4 (cell-protocol.ts), one at a time, in order.
//
// It never runs the event loop: a blocking read, a synchronous module call, a synchronous write. That is the
// shortest path a request can take through a process, it serialises module calls by construction (the ABI's rule),
// and a module that hangs hangs only this loop, which the host kills. Reads take whatever the host has pipelined,
// so one read can carry many requests. EOF on fd 3 (the host closed the cell or died) ends the process.
import { readSync, writeSync } from 'node:fs';
import { cellLimitsFromArgs } from './cell-limits';
import { encodeFrame, FrameReader, NO_STATE_EXPORT, Op, type OpCode } from './cell-protocol';
import { lowerProcessLimit, ModuleLibrary } from './module-library';

const REQUEST_FD = 3;
const REPLY_FD = 4;
const STDERR_FD = 2;
const READ_BYTES = 64 * 1024;

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

function reply(id: number, op: OpCode, code: number, payload?: Uint8Array): void {
  const frame = encodeFrame(id, op, code, payload);
  let written = 0;
  while (written < frame.length) written += writeSync(REPLY_FD, frame, written);
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

const reader = new FrameReader((id, op, _code, payload) => {
  try {
    answer(id, op, payload);
  } catch (error) {
    reply(id, Op.FAILED, 0, Buffer.from(error instanceof Error ? error.message : String(error)));
  }
});

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

const input = Buffer.allocUnsafe(READ_BYTES);
for (;;) {
  const bytes = readSync(REQUEST_FD, input, 0, input.length, null);
  if (bytes === 0) process.exit(0);
  reader.push(input.subarray(0, bytes));
}
