// Formats access-log lines as JSON straight into bytes. Hand-written because building a string per line and
// encoding it afterwards cost more than the whole 0.5 µs budget (concatenation garbage, then a utf8 pass): here
// the constant parts are cached byte runs and only the digits and the gray id are written byte by byte.

const MAX_REASON_CHARS = 200;
const MAX_MODULE_CHARS = 200;
const MAX_GRAY_ID = 128;
// Printable ASCII without " and \: such a string is its own JSON body.
const PLAIN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
// W3C Trace Context version 00; all-zero trace and parent ids are invalid by the spec.
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
const TRACEPARENT_LENGTH = 55;
const CHUNK_BYTES = 1 << 20;

/** 1 for the characters a gray id may hold: A-Z a-z 0-9 . _ : - */
const GRAY_ID_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-') GRAY_ID_CHAR[c.charCodeAt(0)] = 1;

export function isGrayId(text: string): boolean {
  if (text.length === 0 || text.length > MAX_GRAY_ID) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || GRAY_ID_CHAR[c] === 0) return false;
  }
  return true;
}

export function isTraceparent(text: string): boolean {
  return text.length === TRACEPARENT_LENGTH && TRACEPARENT.test(text);
}

export function jsonString(text: string): string {
  return PLAIN_JSON.test(text) ? `"${text}"` : JSON.stringify(text);
}

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
const GRAY = bytes(',"grayId":"');
const TRACE = bytes(',"traceparent":"');
const REASON = bytes(',"reason":');
const QUOTE = 0x22;
const ZERO = 0x30;
const CLOSE_BRACE = 0x7d;
const NEWLINE = 0x0a;
// Where the milliseconds sit in `{"time":"2026-12-05T02:28:55.123Z",`.
const MILLIS_AT = '{"time":"2026-12-05T02:28:55.'.length;
const MAX_FIXED_BYTES = 256;

/** Lines in, byte chunks out; a chunk handed out by take() is never written to again. */
export class LineFormatter {
  private out: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private at = 0;
  private start = 0;
  private done: Buffer[] = [];
  // `{"time":"2026-12-05T02:28:55.123Z",`: rebuilt when the second changes, its milliseconds patched in place.
  private timeRun = bytes('{"time":"1970-01-01T00:00:00.000Z",');
  private lastSecond = -1;
  private lastMillis = -1;
  private lastModule = '';
  private lastVersion: string | null = '';
  private lastStatus = -1;
  private lastSegment = bytes('');
  // `"module":…,"version":…,"status":…,"latencyUs":` by module, version and status; cleared past 256 entries
  // (unknown-module 404s carry names from clients).
  private readonly segments = new Map<string, Buffer>();

  // Two or three copies of cached byte runs per line; TypedArray#set costs a fixed ~20 ns a call, so the fewer
  // and longer the runs the better, and the gray id is the only text copied character by character.
  line(time: number, moduleName: string, version: string | null, status: number, latencyUs: number, grayId: string | null, traceparent: string | null, reason: string | null): void {
    const segment = this.segment(moduleName, version, status);
    const reasonJson = reason && status >= 400 ? jsonString(reason.slice(0, MAX_REASON_CHARS)) : null;
    this.reserve(MAX_FIXED_BYTES + segment.length + (reasonJson === null ? 0 : reasonJson.length * 3));
    if (time !== this.lastMillis) this.setTime(time);
    const out = this.out;
    let at = this.at;
    out.set(this.timeRun, at);
    at += this.timeRun.length;
    out.set(segment, at);
    at = this.digits(latencyUs > 0 ? Math.round(latencyUs) : 0, at + segment.length);
    if (grayId !== null) at = this.grayId(grayId, at);
    if (traceparent !== null && isTraceparent(traceparent)) {
      out.set(TRACE, at);
      at += TRACE.length;
      at += out.write(traceparent, at, 'latin1');
      out[at++] = QUOTE;
    }
    if (reasonJson !== null) {
      out.set(REASON, at);
      at += REASON.length;
      at += out.write(reasonJson, at, 'utf8');
    }
    out[at] = CLOSE_BRACE;
    out[at + 1] = NEWLINE;
    this.at = at + 2;
  }

  /** A line written as given (it must be one JSON object and end in a newline). */
  raw(text: string): void {
    const encoded = bytes(text);
    this.reserve(encoded.length);
    this.out.set(encoded, this.at);
    this.at += encoded.length;
  }

  /** The bytes formatted since the last take(), as chunks to write in order. */
  take(): Buffer[] {
    if (this.at > this.start) this.done.push(this.out.subarray(this.start, this.at));
    this.start = this.at;
    const chunks = this.done;
    this.done = [];
    return chunks;
  }

  private reserve(bytesNeeded: number): void {
    if (this.at + bytesNeeded <= this.out.length) return;
    if (this.at > this.start) this.done.push(this.out.subarray(this.start, this.at));
    this.out = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytesNeeded));
    this.at = 0;
    this.start = 0;
  }

  // Checked while copied, in one pass: an id that is not 1..128 of A-Z a-z 0-9 . _ : - is left out whole.
  private grayId(grayId: string, start: number): number {
    const length = grayId.length;
    if (length === 0 || length > MAX_GRAY_ID) return start;
    const out = this.out;
    out.set(GRAY, start);
    let at = start + GRAY.length;
    for (let i = 0; i < length; i++) {
      const c = grayId.charCodeAt(i);
      if (c >= 128 || GRAY_ID_CHAR[c] === 0) return start;
      out[at++] = c;
    }
    out[at] = QUOTE;
    return at + 1;
  }

  private setTime(time: number): void {
    const second = Math.floor(time / 1000);
    if (second !== this.lastSecond) {
      this.lastSecond = second;
      this.timeRun = bytes(`{"time":"${new Date(second * 1000).toISOString()}",`);
    }
    this.lastMillis = time;
    const millis = time - second * 1000;
    const run = this.timeRun;
    run[MILLIS_AT] = ZERO + Math.floor(millis / 100);
    run[MILLIS_AT + 1] = ZERO + (Math.floor(millis / 10) % 10);
    run[MILLIS_AT + 2] = ZERO + (millis % 10);
  }

  private segment(moduleName: string, version: string | null, status: number): Buffer {
    if (moduleName === this.lastModule && version === this.lastVersion && status === this.lastStatus) return this.lastSegment;
    const key = `${status}\0${version}\0${moduleName}`;
    let segment = this.segments.get(key);
    if (segment === undefined) {
      if (this.segments.size >= 256) this.segments.clear();
      const versionJson = version === null ? 'null' : jsonString(version);
      segment = bytes(`"module":${jsonString(moduleName.slice(0, MAX_MODULE_CHARS))},"version":${versionJson},"status":${status},"latencyUs":`);
      this.segments.set(key, segment);
    }
    this.lastModule = moduleName;
    this.lastVersion = version;
    this.lastStatus = status;
    this.lastSegment = segment;
    return segment;
  }

  private digits(value: number, at: number): number {
    if (value > 0x7fffffff) return at + this.out.write(String(value), at, 'latin1');
    let end = at + 1;
    for (let rest = value; rest >= 10; rest = (rest / 10) | 0) end++;
    let position = end;
    let rest = value | 0;
    do {
      this.out[--position] = ZERO + (rest % 10);
      rest = (rest / 10) | 0;
    } while (rest > 0);
    return end;
  }
}
