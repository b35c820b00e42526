import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';

// One JSON line per invoke request. pino serialises; its sonic-boom destination writes asynchronously, so a
// request never waits on the disk, and lines logged while a write is in flight go out together in the next one.

const GRAY_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// W3C Trace Context version 00; all-zero trace and parent ids are invalid by the spec.
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
const TRACEPARENT_LENGTH = 55;
const MAX_REASON_CHARS = 200;

/** The X-Gray-Id as given when it is 1..128 of [A-Za-z0-9._:-], else null: ids come from clients and end up in headers and logs. */
export function sanitizeGrayId(raw: string | null | undefined): string | null {
  return typeof raw === 'string' && GRAY_ID.test(raw) ? raw : null;
}

/** The traceparent header as given when it is a valid version-00 W3C traceparent, else null. */
export function validTraceparent(raw: string | null | undefined): string | null {
  return typeof raw === 'string' && raw.length === TRACEPARENT_LENGTH && TRACEPARENT.test(raw) ? raw : null;
}

export interface AccessLogEntry {
  module: string;
  /** The version that answered; null when none could (503). */
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

export interface AccessLogOptions {
  /** 'stdout' (default), 'stderr', a file path (appended to, directories created), a file descriptor, or null for no log. */
  destination?: string | number | null;
  /** A failed write; the log then stops rather than take the host down. Default: one line on stderr. */
  onError?: (error: Error) => void;
}

type Destination = ReturnType<typeof pino.destination>;

function openDestination(destination: string | number): Destination {
  if (destination === 'stdout' || destination === 'stderr') return pino.destination({ dest: destination === 'stdout' ? 1 : 2, sync: false });
  if (typeof destination === 'number') return pino.destination({ dest: destination, sync: false });
  // Opened here, synchronously, so a bad path stops the host at startup instead of losing every line later.
  mkdirSync(path.dirname(destination), { recursive: true });
  return pino.destination({ dest: openSync(destination, 'a', 0o640), sync: false });
}

export class AccessLog {
  private readonly destination: Destination | null;
  private logger: Logger | null;
  // Set by each line, cleared when sonic-boom reports its buffer empty ('drain'), so flush() knows whether to wait.
  private unwritten = false;

  constructor(options: AccessLogOptions = {}) {
    const destination = options.destination === undefined ? 'stdout' : options.destination;
    if (destination === null) {
      this.destination = null;
      this.logger = null;
      return;
    }
    const onError = options.onError ?? ((error: Error) => console.error(`access log stopped: ${error.message}`));
    const stream = openDestination(destination);
    stream.on('drain', () => (this.unwritten = false));
    // Destroying the stream also keeps pino's exit hook from retrying the write and throwing at exit.
    stream.on('error', (error: Error) => {
      if (this.logger === null) return;
      this.logger = null;
      this.unwritten = false;
      stream.destroy();
      onError(error);
    });
    this.destination = stream;
    this.logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  }

  /** False when switched off, and after a write failed. */
  get enabled(): boolean {
    return this.logger !== null;
  }

  request(entry: AccessLogEntry): void {
    if (this.logger === null) return;
    this.logger.info({
      module: entry.module,
      version: entry.version,
      status: entry.status,
      latencyUs: Math.round(entry.latencyUs),
      grayId: entry.grayId ? (sanitizeGrayId(entry.grayId) ?? undefined) : undefined,
      traceparent: entry.traceparent ? (validTraceparent(entry.traceparent) ?? undefined) : undefined,
      reason: entry.reason && entry.status >= 400 ? entry.reason.slice(0, MAX_REASON_CHARS) : undefined,
    });
    this.unwritten = true;
  }

  /** Resolves once every line logged so far has been handed to the OS (for shutdown). */
  flush(): Promise<void> {
    const destination = this.destination;
    if (destination === null || !this.unwritten) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const drained = () => {
        destination.off('error', failed);
        resolve();
      };
      const failed = (error: Error) => {
        destination.off('drain', drained);
        reject(error);
      };
      destination.once('drain', drained);
      destination.once('error', failed);
    });
  }
}

export function createAccessLog(options: AccessLogOptions = {}): AccessLog {
  return new AccessLog(options);
}
