// The wire between a process cell (process-cell.ts) and its child (cell-child.ts). Frames travel through a shared
// memory ring (cell-ring.ts) in both directions; the descriptors below carry what the ring cannot:
//
//   fd 3 host → child, fd 4 child → host: socket pairs for frames too large for the ring (state hand-off, big bodies),
//     each announced in the ring by a BULK frame so order is kept across both paths;
//   fd 5 host → child, fd 6 child → host: doorbells, one byte to wake a side that has parked (stopped spinning);
//     EOF on fd 5 tells the child the host is gone;
//   fd 7: the memfd holding the rings.
//
// Each socket is used in one direction only: when a child dies, a write to it fails (EPIPE) and its unread input
// makes reads fail (ECONNRESET), and Node destroys a socket on either error, discarding what it had not delivered.
// A frame, little-endian (in the ring padded to 4 bytes; cell-ring.ts):
//
//   u32 length of what follows | u32 call id | u8 op | i32 code | payload (length - 9 bytes)
//
// The host writes request frames as soon as calls are made (pipelining); the child answers them one at a time, in
// order, echoing the id and op. A reply's code is the module's return code; a call that threw in the child (no module
// loaded, no hp_state_import, dlopen failed…) is answered with op FAILED and the error text as payload, because any
// i32 is a legitimate module code. Only the OPEN reply carries JSON (the identity, once per cell); the hot path is
// binary.

export const CellFd = { BULK_REQUESTS: 3, BULK_REPLIES: 4, WAKE_CHILD: 5, WAKE_HOST: 6, CHANNEL: 7 } as const;

export const Op = {
  /** payload: the .so path (UTF-8) → reply payload: CellIdentity JSON without pid. */
  OPEN: 1,
  /** payload: config bytes → code of hp_init. */
  INIT: 2,
  /** → code of hp_self_test, payload: the report (UTF-8). */
  SELF_TEST: 3,
  /** payload: request → code of hp_handle, payload: response body. */
  HANDLE: 4,
  /** → code of hp_health. */
  HEALTH: 5,
  /** → code 0 and the state, or code NO_STATE_EXPORT when the module has no hp_state_export. */
  EXPORT_STATE: 6,
  /** payload: state → code of hp_state_import. */
  IMPORT_STATE: 7,
  /** hp_shutdown (when a module is loaded), reply, then the child exits: process exit is how a cell unloads. */
  SHUTDOWN: 8,
  /** In the ring only: the next frame in this direction travels over the bulk socket (fd 3 or 4). */
  BULK: 254,
  /** Reply only: the call threw in the child; payload: the message (UTF-8). */
  FAILED: 255,
} as const;

export type OpCode = (typeof Op)[keyof typeof Op];

export const NO_STATE_EXPORT = 1;

const OP_NAMES: Record<number, string> = {
  [Op.OPEN]: 'dlopen',
  [Op.INIT]: 'hp_init',
  [Op.SELF_TEST]: 'hp_self_test',
  [Op.HANDLE]: 'hp_handle',
  [Op.HEALTH]: 'hp_health',
  [Op.EXPORT_STATE]: 'hp_state_export',
  [Op.IMPORT_STATE]: 'hp_state_import',
  [Op.SHUTDOWN]: 'hp_shutdown',
};

/** What a call was doing, in the module's terms, for error messages. */
export function opName(op: number): string {
  return OP_NAMES[op] ?? `op ${op}`;
}

const LENGTH_BYTES = 4;
/** id + op + code, counted in the length prefix. */
const HEADER_BYTES = 9;
/** A frame claiming more than this is a broken peer, not a message: the reader refuses it instead of buffering. */
export const MAX_FRAME_BYTES = 1 << 30;

const EMPTY = Buffer.alloc(0);

export function encodeFrame(id: number, op: OpCode, code: number, payload: Uint8Array = EMPTY): Buffer {
  // allocUnsafe: small frames come from Node's shared pool, and every byte is written below.
  const frame = Buffer.allocUnsafe(LENGTH_BYTES + HEADER_BYTES + payload.length);
  frame.writeUInt32LE(HEADER_BYTES + payload.length, 0);
  frame.writeUInt32LE(id, 4);
  frame[8] = op;
  frame.writeInt32LE(code, 9);
  frame.set(payload, LENGTH_BYTES + HEADER_BYTES);
  return frame;
}

export type FrameHandler = (id: number, op: number, code: number, payload: Buffer) => void;

/**
 * Cuts a byte stream into frames. A payload is a view into the chunk it arrived in when the frame is whole in one
 * chunk; bytes of an incomplete frame are copied and joined once the frame is complete (linear in its size, however
 * many chunks it spans). A caller may therefore reuse its read buffer between pushes (the child does), provided it
 * consumes each payload inside the handler.
 */
export class FrameReader {
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Size of the incomplete frame being held, or of its prefix while that is still incomplete. */
  private needed = 0;

  constructor(private readonly onFrame: FrameHandler) {}

  push(chunk: Buffer): void {
    let bytes = chunk;
    if (this.heldBytes > 0) {
      if (this.heldBytes + chunk.length < this.needed) {
        this.held.push(Buffer.from(chunk));
        this.heldBytes += chunk.length;
        return;
      }
      bytes = Buffer.concat([...this.held, chunk]);
      this.held = [];
      this.heldBytes = 0;
    }
    let offset = 0;
    for (;;) {
      const available = bytes.length - offset;
      if (available < LENGTH_BYTES + HEADER_BYTES) {
        this.needed = LENGTH_BYTES + HEADER_BYTES;
        break;
      }
      const length = bytes.readUInt32LE(offset);
      if (length < HEADER_BYTES || length > MAX_FRAME_BYTES) throw new Error(`cell protocol: bad frame length ${length}`);
      if (available < LENGTH_BYTES + length) {
        this.needed = LENGTH_BYTES + length;
        break;
      }
      const end = offset + LENGTH_BYTES + length;
      this.onFrame(
        bytes.readUInt32LE(offset + 4),
        bytes[offset + 8],
        bytes.readInt32LE(offset + 9),
        bytes.subarray(offset + LENGTH_BYTES + HEADER_BYTES, end),
      );
      offset = end;
    }
    if (offset < bytes.length) {
      this.held = [Buffer.from(bytes.subarray(offset))];
      this.heldBytes = bytes.length - offset;
    }
  }

  /** Bytes of an incomplete frame waiting for the rest. */
  get buffered(): number {
    return this.heldBytes;
  }
}
