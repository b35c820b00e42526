// The host's end of a process cell's channel (cell-protocol.ts, cell-ring.ts): request frames go into the shared
// ring, replies come out of the other one, and the child's doorbell is rung only when it has parked. While replies
// are due the host polls the reply ring once per event-loop turn (setImmediate, so other I/O is still served), for
// its SpinBudget after the last progress; then it parks and waits for the child's doorbell byte. A hot sequential
// caller therefore never pays a wake-up on either side, and an idle or slow cell costs no CPU.
//
// Everything read from the shared memory is the child's word and is bounds-checked (Ring.read); a child that breaks
// the protocol gets `onBroken`, and the cell kills it.
import type { Socket } from 'node:net';
import koffi from 'koffi';
import { encodeFrame, FrameReader, Op, type OpCode } from './cell-protocol';
import { MAX_RING_FRAME, ringFrameBytes, SpinBudget, type HostChannel } from './cell-ring';

/** The most the host keeps polling for a reply after the last progress (SpinBudget adapts below it). */
const MAX_SPIN_MS = 0.2;
let schedYield: (() => number) | null = null;

/** Lets a peer waiting for this CPU run now, instead of at the end of this process's time slice. */
function yieldCpu(): void {
  schedYield ??= koffi.load('libc.so.6').func('int sched_yield(void)') as () => number;
  schedYield();
}
const EMPTY = Buffer.alloc(0);

export interface CellChannelSockets {
  bulkRequests: Socket;
  bulkReplies: Socket;
  wakeHost: Socket;
}

export interface CellChannelEvents {
  /** A reply, in the order the child sent them; the payload is the host's own copy. */
  onReply(id: number, op: number, code: number, payload: Buffer): void;
  /** The child wrote something the protocol does not allow: nothing more it says can be trusted. */
  onBroken(why: string): void;
  /** How many replies are still due. */
  due(): number;
}

interface Frame {
  id: number;
  op: number;
  code: number;
  payload: Buffer;
}

export class HostCellChannel {
  /** Requests the ring had no room for yet, oldest first; they go in as the child frees space. */
  private readonly backlog: Array<{ id: number; op: OpCode; payload: Uint8Array }> = [];
  /** Bulk replies that arrived on the socket before their BULK frame was read from the ring. */
  private readonly bulkReplies: Frame[] = [];
  private readonly bulkReader = new FrameReader((id, op, code, payload) => this.onBulkReply({ id, op, code, payload: Buffer.from(payload) }));
  private awaitingBulk = false;
  private scheduled = false;
  private lastProgress = 0;
  private readonly spin = new SpinBudget(MAX_SPIN_MS);
  /** Parked with replies due: the doorbell that ends it says how long polling would have needed. */
  private parked = false;
  private closed = false;

  constructor(
    private readonly end: HostChannel,
    private readonly sockets: CellChannelSockets,
    private readonly events: CellChannelEvents,
  ) {
    sockets.bulkReplies.on('data', (chunk: Buffer) => {
      try {
        this.bulkReader.push(chunk);
      } catch (error) {
        this.broken((error as Error).message);
      }
    });
    sockets.wakeHost.on('data', () => {
      if (this.parked) this.spin.woken();
      this.parked = false;
      this.lastProgress = performance.now();
      if (this.poll(false)) this.schedule();
    });
  }

  send(id: number, op: OpCode, payload: Uint8Array): void {
    if (this.closed) return;
    try {
      if (this.backlog.length > 0 || !this.put(id, op, payload)) {
        // Held past this call, so the caller's buffer is copied.
        this.backlog.push({ id, op, payload: Buffer.from(payload) });
      }
    } catch (error) {
      return this.broken((error as Error).message);
    }
    this.lastProgress = performance.now();
    this.schedule();
  }

  /** Reads what the child left in the ring (its exit came first): the last replies of a cell that shut down. */
  drainFinal(): void {
    if (!this.closed) this.poll(false);
  }

  /** The host stops reading; the memory is unmapped once the current call stack has unwound. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    setImmediate(() => this.end.release());
  }

  private put(id: number, op: OpCode, payload: Uint8Array): boolean {
    if (ringFrameBytes(payload.length) > MAX_RING_FRAME) {
      if (!this.end.out.write(id, Op.BULK, 0, EMPTY)) return false;
      this.sockets.bulkRequests.write(encodeFrame(id, op, 0, payload));
    } else if (!this.end.out.write(id, op, 0, payload)) {
      return false;
    }
    if (this.end.peer.takeSleeper()) this.end.wakeChild();
    return true;
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(this.tick);
  }

  private readonly tick = () => {
    this.scheduled = false;
    if (this.poll(true)) this.schedule();
  };

  /** One look at the reply ring; true while the host should keep polling. Progress found by polling wins. */
  private poll(polling: boolean): boolean {
    if (this.closed) return false;
    this.end.self.unpark();
    this.parked = false;
    let progressed: boolean;
    try {
      progressed = this.drain();
    } catch (error) {
      this.broken((error as Error).message);
      return false;
    }
    const now = performance.now();
    if (progressed) {
      this.lastProgress = now;
      if (polling) this.spin.won();
    }
    if (this.closed || this.events.due() === 0) return this.park();
    if (now - this.lastProgress < this.spin.allowanceMs(now)) {
      if (!progressed) yieldCpu();
      return true;
    }
    if (this.park()) return true;
    this.spin.parking();
    this.parked = true;
    return false;
  }

  // Parked first, checked again after: the child publishes then looks at the flag, so one of us sees the other.
  private park(): boolean {
    if (this.closed) return false;
    this.end.self.park();
    if (!this.end.in.pending || this.awaitingBulk) return false;
    this.end.self.unpark();
    return true;
  }

  private drain(): boolean {
    if (this.awaitingBulk) return false;
    const read = this.end.in.read(this.onRingFrame);
    if (read === 0) return false;
    while (this.backlog.length > 0 && !this.closed) {
      const next = this.backlog[0];
      if (!this.put(next.id, next.op, next.payload)) break;
      this.backlog.shift();
    }
    // The child may be parked waiting for room in the reply ring this read just freed.
    if (!this.closed && this.end.peer.takeSleeperWaitingForRoom()) this.end.wakeChild();
    return true;
  }

  private readonly onRingFrame = (id: number, op: number, code: number, payload: Buffer): boolean => {
    if (this.closed) return false;
    if (op === Op.BULK) {
      const frame = this.bulkReplies.shift();
      if (!frame) {
        this.awaitingBulk = true;
        return false;
      }
      return this.deliver(frame);
    }
    return this.deliver({ id, op, code, payload: payload.length === 0 ? EMPTY : Buffer.from(payload) });
  };

  private deliver(frame: Frame): boolean {
    try {
      this.events.onReply(frame.id, frame.op, frame.code, frame.payload);
    } catch (error) {
      this.broken((error as Error).message);
    }
    return !this.closed;
  }

  private onBulkReply(frame: Frame): void {
    if (this.closed) return;
    if (!this.awaitingBulk) {
      // Each bulk reply answers a call: more of them than calls due is a child talking out of turn.
      if (this.bulkReplies.length >= this.events.due()) return this.broken('a bulk reply no call is waiting for');
      this.bulkReplies.push(frame);
      return;
    }
    this.awaitingBulk = false;
    if (!this.deliver(frame)) return;
    this.lastProgress = performance.now();
    if (this.poll(false)) this.schedule();
  }

  private broken(why: string): void {
    if (this.closed) return;
    this.close();
    this.events.onBroken(why);
  }
}
