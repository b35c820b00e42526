import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, write, writeSync } from 'node:fs';
import path from 'node:path';
import { isGrayId, isTraceparent, LineFormatter } from './access-log-format';

// One JSON line per invoke request. Hand-written instead of pino, whose object building and serialising per line
// cost 4.7 µs: a request stores its fields into preallocated columns (tens of ns), and the lines are formatted
// in batches on a timer and written asynchronously, so a request never formats, never waits on the disk.
// Lines not yet written when the process dies abruptly (a crashing in-process module) are lost: at most
// flushIntervalMs of them. A normal exit writes them synchronously.

/** The X-Gray-Id as given when it is 1..128 of [A-Za-z0-9._:-], else null: ids come from clients and end up in headers and logs. */
export function sanitizeGrayId(raw: string | null | undefined): string | null {
  return typeof raw === 'string' && isGrayId(raw) ? raw : null;
}

/** The traceparent header as given when it is a valid version-00 W3C traceparent, else null. */
export function validTraceparent(raw: string | null | undefined): string | null {
  return typeof raw === 'string' && isTraceparent(raw) ? raw : null;
}

export interface AccessLogEntry {
  module: string;
  /** The version that answered; null when none could (503) or the request was refused before routing. */
  version: string | null;
  status: number;
  latencyUs: number;
  /** Logged only if it passes sanitizeGrayId. */
  grayId?: string | null;
  /** The raw header; logged only if it is a valid traceparent. */
  traceparent?: string | null;
  /** Why the request failed; logged for statuses ≥ 400, cut to 200 characters. */
  reason?: string;
}

export interface AccessLogSettings {
  /** A file past this size is renamed to <file>.1 (older ones shift up) before the next batch is written. */
  maxFileBytes: number;
  /** Rotated files kept beside the current one; older ones are deleted. */
  keepFiles: number;
  /** How long a line may wait in memory before it is written: what an abrupt crash can lose. */
  flushIntervalMs: number;
  /** Lines held in memory before they are formatted at once, without waiting for the interval. */
  bufferLines: number;
  /** Formatted bytes waiting for a slow disk; lines beyond are dropped and counted in a "dropped" line. */
  maxPendingBytes: number;
}

// The defaults of server/config.ts's accessLogSettings(), for an AccessLog made without them (tests, embedding).
export const DEFAULT_ACCESS_LOG_SETTINGS: AccessLogSettings = {
  maxFileBytes: 64 * 1024 * 1024,
  keepFiles: 5,
  flushIntervalMs: 200,
  bufferLines: 8192,
  maxPendingBytes: 16 * 1024 * 1024,
};

export interface AccessLogOptions extends Partial<AccessLogSettings> {
  /** A file path (appended to, directories created, rotated), 'stdout', 'stderr', a file descriptor, or null for no log. */
  destination?: string | number | null;
  /** A failed write; the log then stops rather than take the host down. Default: one line on stderr. */
  onError?: (error: Error) => void;
}

const openLogs = new Set<AccessLog>();
process.on('exit', () => {
  for (const log of openLogs) log.writeRemainingSync();
});


export class AccessLog {
  private fd: number | null;
  private readonly file: string | null;
  private readonly settings: AccessLogSettings;
  private readonly onError: (error: Error) => void;
  // The columns: line i of the buffer is (times[i], modules[i], …).
  private readonly times: Float64Array;
  private readonly statuses: Int32Array;
  private readonly latencies: Float64Array;
  private readonly modules: string[];
  private readonly versions: (string | null)[];
  private readonly grayIds: (string | null)[];
  private readonly traceparents: (string | null)[];
  private readonly reasons: (string | null)[];
  private count = 0;
  private timer: NodeJS.Timeout | null = null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private writing = false;
  private fileBytes = 0;
  private droppedSinceWritten = 0;
  private droppedTotal = 0;
  private waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private readonly formatter = new LineFormatter();

  constructor(options: AccessLogOptions = {}) {
    const defaults = DEFAULT_ACCESS_LOG_SETTINGS;
    this.settings = {
      maxFileBytes: options.maxFileBytes ?? defaults.maxFileBytes,
      keepFiles: options.keepFiles ?? defaults.keepFiles,
      flushIntervalMs: options.flushIntervalMs ?? defaults.flushIntervalMs,
      bufferLines: options.bufferLines ?? defaults.bufferLines,
      maxPendingBytes: options.maxPendingBytes ?? defaults.maxPendingBytes,
    };
    this.onError = options.onError ?? ((error: Error) => console.error(`access log stopped: ${error.message}`));
    const destination = options.destination === undefined ? 'stdout' : options.destination;
    const lines = destination === null ? 0 : this.settings.bufferLines;
    this.times = new Float64Array(lines);
    this.statuses = new Int32Array(lines);
    this.latencies = new Float64Array(lines);
    this.modules = new Array<string>(lines).fill('');
    this.versions = new Array<string | null>(lines).fill(null);
    this.grayIds = new Array<string | null>(lines).fill(null);
    this.traceparents = new Array<string | null>(lines).fill(null);
    this.reasons = new Array<string | null>(lines).fill(null);
    if (destination === null) {
      this.fd = null;
      this.file = null;
    } else if (destination === 'stdout' || destination === 'stderr' || typeof destination === 'number') {
      this.fd = destination === 'stdout' ? 1 : destination === 'stderr' ? 2 : destination;
      this.file = null;
    } else {
      // Opened here, synchronously, so a bad path stops the host at startup instead of losing every line later.
      mkdirSync(path.dirname(destination), { recursive: true });
      this.fd = openSync(destination, 'a', 0o640);
      this.file = destination;
      this.fileBytes = statSync(destination).size;
    }
    if (this.fd !== null) openLogs.add(this);
  }

  /** False when switched off, and after a write failed. */
  get enabled(): boolean {
    return this.fd !== null;
  }

  /** Lines dropped because the disk fell behind by more than maxPendingBytes. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** The hot path: positional, so the caller builds no object. */
  record(module: string, version: string | null, status: number, latencyUs: number, grayId: string | null, traceparent: string | null, reason: string | null): void {
    if (this.fd === null) return;
    const i = this.count++;
    this.times[i] = Date.now();
    this.modules[i] = module;
    this.versions[i] = version;
    this.statuses[i] = status;
    this.latencies[i] = latencyUs;
    this.grayIds[i] = grayId;
    this.traceparents[i] = traceparent;
    this.reasons[i] = reason;
    if (this.count === this.times.length) this.formatBuffered();
    else if (this.timer === null) this.timer = setTimeout(() => this.formatBuffered(), this.settings.flushIntervalMs).unref();
  }

  request(entry: AccessLogEntry): void {
    this.record(entry.module, entry.version, entry.status, entry.latencyUs, entry.grayId ?? null, entry.traceparent ?? null, entry.reason ?? null);
  }

  /** Resolves once every line logged so far has been handed to the OS (for shutdown). */
  flush(): Promise<void> {
    this.formatBuffered();
    if (!this.writing && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Writes what is left and closes the file; later lines are ignored. */
  async close(): Promise<void> {
    await this.flush();
    if (this.fd !== null && this.file !== null) closeSync(this.fd);
    this.fd = null;
    openLogs.delete(this);
  }

  /** At process exit: everything buffered or queued, written synchronously (a write still in flight may be lost). */
  writeRemainingSync(): void {
    this.formatBuffered();
    if (this.fd === null) return;
    try {
      for (const chunk of this.pending) writeSync(this.fd, chunk);
    } catch {
      // Exiting anyway; nowhere left to report it.
    }
    this.pending = [];
  }

  private formatBuffered(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const count = this.count;
    if (count === 0 || this.fd === null) return;
    this.count = 0;
    const formatter = this.formatter;
    for (let i = 0; i < count; i++) {
      formatter.line(this.times[i], this.modules[i], this.versions[i], this.statuses[i], this.latencies[i], this.grayIds[i], this.traceparents[i], this.reasons[i]);
    }
    const chunks = formatter.take();
    const size = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    if (this.pendingBytes + size > this.settings.maxPendingBytes) {
      this.droppedSinceWritten += count;
      this.droppedTotal += count;
    } else {
      this.noteDropped();
      this.pending.push(...chunks);
      this.pendingBytes += size;
    }
    for (let i = 0; i < count; i++) {
      this.grayIds[i] = this.traceparents[i] = this.reasons[i] = null;
    }
    this.writeNext();
  }

  // Where the dropped lines were: after everything queued so far, before the next batch.
  private noteDropped(): void {
    if (this.droppedSinceWritten === 0) return;
    this.formatter.raw(`{"time":"${new Date().toISOString()}","dropped":${this.droppedSinceWritten}}\n`);
    this.pending.push(...this.formatter.take());
    this.droppedSinceWritten = 0;
  }

  // One write at a time, of everything queued, so lines stay in order and batches coalesce while the disk is busy.
  private writeNext(): void {
    if (this.writing || this.fd === null) return;
    this.noteDropped();
    if (this.pending.length === 0) return this.settle(null);
    const batch = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.file !== null && this.fileBytes > 0 && this.fileBytes + batch.length > this.settings.maxFileBytes) {
      try {
        this.rotate();
      } catch (error) {
        return this.fail(error as Error);
      }
    }
    this.writing = true;
    this.writeFrom(batch, 0);
  }

  private writeFrom(batch: Buffer, offset: number): void {
    write(this.fd!, batch, offset, batch.length - offset, null, (error, written) => {
      if (error && (error as NodeJS.ErrnoException).code === 'EAGAIN') {
        setTimeout(() => this.writeFrom(batch, offset), 10).unref();
        return;
      }
      if (error) return this.fail(error);
      this.fileBytes += written;
      if (offset + written < batch.length) return this.writeFrom(batch, offset + written);
      this.writing = false;
      this.writeNext();
    });
  }

  // Synchronous renames: a handful of system calls once per maxFileBytes, between two batches.
  private rotate(): void {
    const file = this.file!;
    closeSync(this.fd!);
    const keep = this.settings.keepFiles;
    rmSync(`${file}.${keep}`, { force: true });
    for (let n = keep - 1; n >= 1; n--) {
      try {
        renameSync(`${file}.${n}`, `${file}.${n + 1}`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    if (keep > 0) renameSync(file, `${file}.1`);
    else rmSync(file, { force: true });
    this.fd = openSync(file, 'a', 0o640);
    this.fileBytes = 0;
  }

  private fail(error: Error): void {
    if (this.fd === null) return;
    if (this.file !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // Already unusable.
      }
    }
    this.fd = null;
    this.writing = false;
    this.pending = [];
    this.pendingBytes = 0;
    openLogs.delete(this);
    this.onError(error);
    this.settle(error);
  }

  private settle(error: Error | null): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      if (error) waiter.reject(error);
      else waiter.resolve();
    }
  }
}

export function createAccessLog(options: AccessLogOptions = {}): AccessLog {
  return new AccessLog(options);
}
