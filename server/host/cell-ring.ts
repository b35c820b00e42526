// The hot path between a process cell and its child: two single-producer single-consumer byte rings in one sealed
// memfd that both processes map (docs/host.md, "The cell channel"). Frames are cell-protocol.ts's, laid out in place:
//
//   u32 length of what follows (0 = padding to the ring's end) | u32 call id | u8 op | i32 code | payload, padded to 4
//
// Positions are u32 byte counters that wrap at 2^32 (the capacity is a power of two, so they index modulo it); each
// counter has one writer and lives on its own cache line, published with a sequentially consistent store after the
// bytes it covers. The reader of a ring never trusts its peer: counters and lengths are checked against the ring's
// bounds before a byte is read, and a frame is never read outside [data, data + capacity).
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import koffi, { type LibraryHandle } from 'koffi';
import { mapSharedFile, type SharedFileMapping } from './module-library';

/** Region layout in 32-bit words: each control word alone on a 64-byte cache line. */
const WORD = {
  requestTail: 0,
  requestHead: 16,
  replyTail: 32,
  replyHead: 48,
  /** 1 while the child sleeps on its doorbell (fd 5); the host swaps it to 0 and writes a byte. */
  childParked: 64,
  /** 1 while the host waits on its doorbell (fd 6); the child swaps it to 0 and writes a byte. */
  hostParked: 80,
} as const;
const HEADER_BYTES = 4096;
/** Each direction's ring: room for thousands of small frames, or a 256 KiB body in place. */
export const RING_CAPACITY = 1 << 20;
export const REGION_BYTES = HEADER_BYTES + 2 * RING_CAPACITY;
/** Larger frames go over the socket pair, announced by a BULK frame in the ring (cell-protocol.ts). */
export const MAX_RING_FRAME = RING_CAPACITY / 4;
const FRAME_HEADER = 13;
const PAYLOAD_OFFSET = 13;

export type RingFrameHandler = (id: number, op: number, code: number, payload: Buffer) => boolean | void;

const align4 = (n: number) => (n + 3) & ~3;

/** The frame's bytes in a ring, padding included. */
export function ringFrameBytes(payloadLength: number): number {
  return align4(FRAME_HEADER + payloadLength);
}

export class RingCorrupt extends Error {}

/** One direction of the channel, seen from one end: that end either writes frames into it or reads them. */
export class Ring {
  private readonly data: Buffer;
  private readonly words: Int32Array;
  private readonly mask = RING_CAPACITY - 1;
  /** The end's own counter (tail for the writer, head for the reader): kept here, never re-read from shared memory. */
  private own = 0;

  constructor(
    region: ArrayBuffer,
    private readonly dataOffset: number,
    private readonly tailWord: number,
    private readonly headWord: number,
  ) {
    this.data = Buffer.from(region, dataOffset, RING_CAPACITY);
    this.words = new Int32Array(region, 0, HEADER_BYTES / 4);
  }

  /** Appends one frame; false when the ring has no room for it now (the reader has not caught up). */
  write(id: number, op: number, code: number, payload: Uint8Array): boolean {
    const size = ringFrameBytes(payload.length);
    const tail = this.own;
    const used = (tail - (Atomics.load(this.words, this.headWord) >>> 0)) >>> 0;
    if (used > RING_CAPACITY) throw new RingCorrupt(`its reader moved the head past the tail (${used} bytes in use)`);
    let offset = tail & this.mask;
    const toEnd = RING_CAPACITY - offset;
    const needed = size <= toEnd ? size : toEnd + size;
    if (RING_CAPACITY - used < needed) return false;
    let next = tail;
    if (size > toEnd) {
      this.data.writeUInt32LE(0, offset);
      next = (next + toEnd) >>> 0;
      offset = 0;
    }
    const data = this.data;
    data.writeUInt32LE(FRAME_HEADER - 4 + payload.length, offset);
    data.writeUInt32LE(id, offset + 4);
    data[offset + 8] = op;
    data.writeInt32LE(code, offset + 9);
    data.set(payload, offset + PAYLOAD_OFFSET);
    this.own = (next + size) >>> 0;
    Atomics.store(this.words, this.tailWord, this.own | 0);
    return true;
  }

  /** Whether a frame is waiting (reader side). */
  get pending(): boolean {
    return (Atomics.load(this.words, this.tailWord) >>> 0) !== this.own;
  }

  /**
   * Hands each waiting frame to `onFrame`, oldest first, and frees its bytes once the handler returns; a handler
   * returning false stops the read after that frame. The payload is a view into the ring: copy what outlives the
   * handler. Throws RingCorrupt when the writer's counter or a length points outside what it may have written.
   */
  read(onFrame: RingFrameHandler): number {
    const tail = Atomics.load(this.words, this.tailWord) >>> 0;
    let head = this.own;
    let available = (tail - head) >>> 0;
    if (available > RING_CAPACITY) throw new RingCorrupt(`its tail is ${available} bytes ahead of the head, beyond the ring's ${RING_CAPACITY}`);
    let frames = 0;
    while (available > 0) {
      const offset = head & this.mask;
      if (available < 4) throw new RingCorrupt(`${available} bytes published, less than a frame's length`);
      const length = this.data.readUInt32LE(offset);
      if (length === 0) {
        const skip = RING_CAPACITY - offset;
        if (skip > available) throw new RingCorrupt(`padding of ${skip} bytes where only ${available} are published`);
        head = (head + skip) >>> 0;
        available -= skip;
        continue;
      }
      // The length is checked before any arithmetic on it: near 2^32 it would overflow align4's 32-bit math.
      if (length < FRAME_HEADER - 4 || length > available - 4 || length > RING_CAPACITY - offset - 4) {
        throw new RingCorrupt(`a frame of length ${length} at offset ${offset} with ${available} bytes published`);
      }
      const size = align4(4 + length);
      if (size > available) throw new RingCorrupt(`a frame of ${size} bytes with ${available} bytes published`);
      const more = onFrame(
        this.data.readUInt32LE(offset + 4),
        this.data[offset + 8],
        this.data.readInt32LE(offset + 9),
        this.data.subarray(offset + PAYLOAD_OFFSET, offset + 4 + length),
      );
      head = (head + size) >>> 0;
      available -= size;
      frames++;
      this.own = head;
      Atomics.store(this.words, this.headWord, head | 0);
      if (more === false) break;
    }
    return frames;
  }
}

const PARKED = 1;
const PARKED_FOR_ROOM = 2;

/** A parked flag: the sleeper sets it, the waker swaps it back and rings only when it was set. */
export class ParkFlag {
  constructor(
    private readonly words: Int32Array,
    private readonly word: number,
  ) {}

  /** Parks waiting for frames, or (`forRoom`) for the peer to read some. */
  park(forRoom = false): void {
    Atomics.store(this.words, this.word, forRoom ? PARKED_FOR_ROOM : PARKED);
  }

  unpark(): void {
    Atomics.store(this.words, this.word, 0);
  }

  /** True when the other side was parked: the caller owes it one doorbell byte. */
  takeSleeper(): boolean {
    return Atomics.load(this.words, this.word) !== 0 && Atomics.exchange(this.words, this.word, 0) !== 0;
  }

  /** takeSleeper for a side parked waiting for room only: one waiting for frames is not woken by a read. */
  takeSleeperWaitingForRoom(): boolean {
    return Atomics.load(this.words, this.word) === PARKED_FOR_ROOM && Atomics.compareExchange(this.words, this.word, PARKED_FOR_ROOM, 0) === PARKED_FOR_ROOM;
  }
}

/**
 * How long a side polls before it parks, adapted to how waits end. A wait answered while polling doubles the budget
 * (up to the cap). A park that the peer ended within the cap shows polling would have won: the budget rises to
 * twice that wait. A longer park (a slow module, or a peer descheduled on an oversubscribed machine, where polling
 * only burns the CPU the peer needs) halves it, down to the floor. On an idle machine a hot cell stays near the cap
 * and makes no system call; under load the budget falls within a few calls to about what a wake-up costs.
 */
const CORES = availableParallelism();
const RUN_QUEUE_SAMPLE_MS = 100;
let runQueueSampledAt = -Infinity;
let runnableTasks = 0;
let runQueueReadable = true;

/**
 * Whether more tasks are runnable than there are cores: the kernel's procs_running from /proc/stat (no Node API gives
 * the run queue), sampled at most every 100 ms and smoothed. Then polling only takes the CPU a peer needs — two
 * workers with their cells on two cores served 29k req/s polling against 39k parking at once — so both sides of a
 * channel park straight away. Where /proc/stat cannot be read, nothing counts as oversubscribed.
 */
export function cpuOversubscribed(now: number): boolean {
  if (runQueueReadable && now - runQueueSampledAt >= RUN_QUEUE_SAMPLE_MS) {
    runQueueSampledAt = now;
    try {
      const running = Number(/^procs_running (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))?.[1] ?? NaN);
      if (Number.isFinite(running)) runnableTasks = runnableTasks === 0 ? running : 0.7 * runnableTasks + 0.3 * running;
    } catch {
      runQueueReadable = false;
    }
  }
  return runnableTasks > CORES + 0.5;
}

export class SpinBudget {
  ms: number;
  private parkedAt = 0;

  constructor(
    private readonly maxMs: number,
    private readonly minMs = 0.002,
  ) {
    this.ms = maxMs;
  }

  /** How long to poll now: the learned budget, or nothing while the machine is oversubscribed. */
  allowanceMs(now: number): number {
    return cpuOversubscribed(now) ? 0 : this.ms;
  }

  won(): void {
    this.ms = Math.min(this.maxMs, this.ms * 2);
  }

  parking(): void {
    this.parkedAt = performance.now();
  }

  woken(): void {
    const waited = performance.now() - this.parkedAt;
    this.ms = waited < this.maxMs / 4 ? Math.min(this.maxMs, Math.max(this.ms, 2 * waited)) : Math.max(this.minMs, this.ms / 2);
  }
}

export interface ChannelEnd {
  /** This end writes here. */
  out: Ring;
  /** This end reads here. */
  in: Ring;
  /** This end's own parked flag. */
  self: ParkFlag;
  /** The other end's parked flag. */
  peer: ParkFlag;
}

function channelEnd(region: ArrayBuffer, side: 'host' | 'child'): ChannelEnd {
  const words = new Int32Array(region, 0, HEADER_BYTES / 4);
  const requests = new Ring(region, HEADER_BYTES, WORD.requestTail, WORD.requestHead);
  const replies = new Ring(region, HEADER_BYTES + RING_CAPACITY, WORD.replyTail, WORD.replyHead);
  const host = new ParkFlag(words, WORD.hostParked);
  const child = new ParkFlag(words, WORD.childParked);
  return side === 'host' ? { out: requests, in: replies, self: host, peer: child } : { out: replies, in: requests, self: child, peer: host };
}

// Linux numbers (uapi/linux/memfd.h, fcntl.h).
const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const F_ADD_SEALS = 1033;
const F_SEAL_SEAL = 0x1;
const F_SEAL_SHRINK = 0x2;
const F_SEAL_GROW = 0x4;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

type KoffiFunction = ReturnType<LibraryHandle['func']>;
let libc: { memfdCreate: KoffiFunction; ftruncate: KoffiFunction; fcntl: KoffiFunction; pipe2: KoffiFunction } | null = null;

function loadLibc() {
  libc ??= (() => {
    const c = koffi.load('libc.so.6');
    return {
      memfdCreate: c.func('int memfd_create(const char *name, unsigned int flags)'),
      ftruncate: c.func('int ftruncate(int fd, int64_t length)'),
      fcntl: c.func('int fcntl(int fd, int cmd, ...)'),
      pipe2: c.func('int pipe2(void *fds, int flags)'),
    };
  })();
  return libc;
}

export interface HostChannel extends ChannelEnd {
  /** The memfd to hand to the child (close it once the child has it); close-on-exec, so no other child inherits it. */
  fd: number;
  /** The read end of the child's doorbell pipe, for the child's fd 5 (close it once the child has it). */
  childDoorbellFd: number;
  /** One byte into the child's doorbell. */
  wakeChild(): void;
  /** Unmaps the memory and closes the doorbell, which the child, if alive, reads as EOF. */
  release(): void;
}

const WAKE = Buffer.from([1]);

/**
 * The host's end: a new memfd of REGION_BYTES, sealed against resizing before the child ever sees it (a child
 * that could shrink it would make the host's next read of the mapping a SIGBUS), mapped shared; and the child's
 * doorbell, a pipe whose write end the host keeps raw and non-blocking: one write(2), without a stream around it.
 */
export function createHostChannel(): HostChannel {
  const { memfdCreate, ftruncate, fcntl, pipe2 } = loadLibc();
  const fd = memfdCreate('hotplane-cell', MFD_CLOEXEC | MFD_ALLOW_SEALING) as number;
  if (fd < 0) throw new Error(`memfd_create: errno ${koffi.errno()}`);
  const pipe = new Int32Array(2);
  let mapping: SharedFileMapping;
  try {
    if (ftruncate(fd, REGION_BYTES) !== 0) throw new Error(`ftruncate of the cell channel: errno ${koffi.errno()}`);
    if (fcntl(fd, F_ADD_SEALS, 'int', F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) !== 0) throw new Error(`sealing the cell channel: errno ${koffi.errno()}`);
    if (pipe2(pipe, O_CLOEXEC) !== 0) throw new Error(`pipe2 for the cell doorbell: errno ${koffi.errno()}`);
    if (fcntl(pipe[1], F_SETFL, 'int', O_NONBLOCK) !== 0) throw new Error(`non-blocking cell doorbell: errno ${koffi.errno()}`);
    mapping = mapSharedFile(fd, REGION_BYTES);
  } catch (error) {
    for (const open of [fd, pipe[0], pipe[1]]) if (open > 0) closeSync(open);
    throw error;
  }
  const region = mapping.bytes.buffer as ArrayBuffer;
  const doorbell = pipe[1];
  let released = false;
  return {
    ...channelEnd(region, 'host'),
    fd,
    childDoorbellFd: pipe[0],
    wakeChild() {
      try {
        writeSync(doorbell, WAKE);
      } catch {
        // EAGAIN: bytes the child has not read yet will wake it anyway; EPIPE: it is gone, and its exit tells.
      }
    },
    release() {
      if (released) return;
      released = true;
      mapping.unmap();
      closeSync(doorbell);
    },
  };
}

/** The child's end, over the memfd it inherited. */
export function openChildChannel(fd: number): ChannelEnd {
  const mapping = mapSharedFile(fd, REGION_BYTES);
  return channelEnd(mapping.bytes.buffer as ArrayBuffer, 'child');
}

