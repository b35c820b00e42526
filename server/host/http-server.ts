import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AccessLog } from './access-log';
import { BreakGlassRefused, type LocalBreakGlass } from './break-glass';
import { sanitizeGrayId } from './access-log';
import type { ConsoleApprovals } from './console-approvals';
import type { Host } from './host';
import { parseDesiredState } from '../protocol';
import type { InvokeResult } from './module-runtime';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** How much of a refused body is still read (and dropped) after the 413 before the connection is cut. */
export const MAX_DISCARD_BYTES = 8 * 1024 * 1024;

export interface HostHttpOptions {
  host: Host;
  /** Bearer token for X-Hotplane-Pin, /v1/status and POST /v1/desired-state. */
  adminToken: string;
  maxBodyBytes?: number;
  accessLog?: AccessLog;
  /** When set, GET /metrics needs `Authorization: Bearer <this>` (compared in constant time). */
  metricsToken?: string | null;
  /** Set when the host has a console: a locally posted state may only use versions the console approved. */
  approvals?: Pick<ConsoleApprovals, 'refusal'>;
  /** Set when the host has a console: POST /v1/break-glass moves a module back to its last stable (break-glass.ts). */
  breakGlass?: Pick<LocalBreakGlass, 'rollback'>;
  /** What GET /metrics answers (default this process's HostMetrics); a worker's asks its primary for the whole host's. */
  metricsText?: () => string | Promise<string>;
}

const INVOKE_PREFIX = '/v1/invoke/';
const PRINTABLE = /^[\x20-\x7e]*$/;

function sameToken(given: string | undefined, expected: string): boolean {
  if (!given?.startsWith('Bearer ')) return false;
  const a = Buffer.from(given.slice(7));
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: ServerResponse, status: number, body: Buffer | string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function problem(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) {
  send(res, status, JSON.stringify({ error: message }), { 'content-type': 'application/json', ...headers });
}

// Reads the whole body up to the limit; a larger body is answered 413 (done(null)) at once and the rest of it is
// read and dropped, never buffered. Closing instead while the client is still sending makes the host's kernel
// reset the connection, and the client then fails with EPIPE before it ever reads the 413. A client still
// sending MAX_DISCARD_BYTES past the limit is cut off.
function readBody(req: IncomingMessage, limit: number, declaredLength: number, done: (body: Buffer | null) => void) {
  let first: Buffer | null = null;
  let more: Buffer[] | null = null;
  let size = 0;
  let finished = declaredLength > limit;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (finished) {
      if (size > limit + MAX_DISCARD_BYTES) req.destroy();
      return;
    }
    if (size > limit) {
      finished = true;
      first = null;
      more = null;
      return done(null);
    }
    if (first === null) first = chunk;
    else (more ??= [first]).push(chunk);
  });
  req.on('end', () => {
    if (finished) return;
    finished = true;
    done(more ? Buffer.concat(more) : (first ?? Buffer.alloc(0)));
  });
  if (finished) done(null);
}

function readBodyAsync(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve) => readBody(req, limit, Number(req.headers['content-length'] ?? -1), resolve));
}

// The headers the invoke path reads, found in one pass over rawHeaders: reading req.headers makes node build an
// object of every header on each request. A repeated header is joined with ", " as node joins unknown headers
// (so a repeated X-Gray-Id is refused, as it is through req.headers).
interface InvokeHeaders {
  grayId: string | undefined;
  pin: string | undefined;
  authorization: string | undefined;
  traceparent: string | undefined;
  contentLength: number;
}

function joined(previous: string | undefined, value: string): string {
  return previous === undefined ? value : `${previous}, ${value}`;
}

// True when `name` is `lower` in any casing; the usual spellings are compared without making a lower-cased copy.
function named(name: string, lower: string, usual: string): boolean {
  return name === usual || name === lower || name.toLowerCase() === lower;
}

function invokeHeaders(raw: string[]): InvokeHeaders {
  const found: InvokeHeaders = { grayId: undefined, pin: undefined, authorization: undefined, traceparent: undefined, contentLength: -1 };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    // Lengths first: most headers are ruled out without looking at their names.
    switch (name.length) {
      case 9:
        if (named(name, 'x-gray-id', 'X-Gray-Id')) found.grayId = joined(found.grayId, raw[i + 1]);
        break;
      case 14:
        if (found.contentLength === -1 && named(name, 'content-length', 'Content-Length')) found.contentLength = Number(raw[i + 1]);
        else if (named(name, 'x-hotplane-pin', 'X-Hotplane-Pin')) found.pin = joined(found.pin, raw[i + 1]);
        break;
      case 13:
        if (found.authorization === undefined && named(name, 'authorization', 'Authorization')) found.authorization = raw[i + 1];
        break;
      case 11:
        if (named(name, 'traceparent', 'Traceparent')) found.traceparent = joined(found.traceparent, raw[i + 1]);
        break;
    }
  }
  return found;
}

// The module name of /v1/invoke/<name>[?query], percent-decoded; undefined when its encoding is broken.
// The last answer is remembered: a host serves a few modules, so the slicing and decoding are usually skipped.
let lastInvokeUrl = '';
let lastModuleName = '';
function moduleOf(url: string): string | undefined {
  if (url === lastInvokeUrl) return lastModuleName;
  const query = url.indexOf('?', INVOKE_PREFIX.length);
  const raw = query === -1 ? url.slice(INVOKE_PREFIX.length) : url.slice(INVOKE_PREFIX.length, query);
  let name: string;
  try {
    name = raw.includes('%') ? decodeURIComponent(raw) : raw;
  } catch {
    return undefined;
  }
  lastInvokeUrl = url;
  lastModuleName = name;
  return name;
}

// The host's HTTP face: the invoke API real applications call, Prometheus metrics, and an admin surface.
export function createHostHttpServer(options: HostHttpOptions): Server {
  const { host, adminToken, accessLog, metricsToken } = options;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  // Every answer on the invoke path is logged, refusals included; a gray id is logged only when it is valid.
  function logged(module: string, version: string | null, status: number, started: number, grayId: string | null, traceparent: string | undefined, reason: string | null) {
    if (accessLog?.enabled) {
      accessLog.record(module, version, status, (performance.now() - started) * 1000, grayId, traceparent ?? null, reason);
    }
  }

  function refuse(res: ServerResponse, module: string, started: number, headers: InvokeHeaders, status: number, message: string, extra?: Record<string, string>) {
    problem(res, status, message, extra);
    logged(module, null, status, started, null, headers.traceparent, message);
  }

  function respond(res: ServerResponse, module: string, grayId: string | null, started: number, headers: InvokeHeaders, result: InvokeResult) {
    // A flat header list is the cheapest form writeHead takes.
    const length = String(result.body.length);
    const out = result.version
      ? ['content-length', length, 'content-type', 'application/octet-stream', 'x-hotplane-module', module, 'x-hotplane-version', result.version]
      : ['content-length', length, 'content-type', 'application/octet-stream', 'x-hotplane-module', module];
    if (result.reason && result.status >= 500) out.push('x-hotplane-reason', result.reason.replace(/[^\x20-\x7e]/g, ' ').slice(0, 200));
    res.writeHead(result.status, out);
    res.end(result.body);
    logged(module, result.version, result.status, started, grayId, headers.traceparent, result.status >= 500 ? (result.reason ?? null) : null);
  }

  // The hot path: callbacks, not async frames, and no Promise at all when an in-process cell answers.
  function invoke(req: IncomingMessage, res: ServerResponse, module: string, started: number) {
    const headers = invokeHeaders(req.rawHeaders);
    const rawGray = headers.grayId;
    const grayId = rawGray === undefined ? null : sanitizeGrayId(rawGray);
    if (rawGray !== undefined && grayId === null) return refuse(res, module, started, headers, 400, 'X-Gray-Id must be 1-128 characters of A-Z a-z 0-9 . _ : -');
    const pin = headers.pin;
    if (pin !== undefined && !sameToken(headers.authorization, adminToken)) {
      return refuse(res, module, started, headers, 403, 'X-Hotplane-Pin needs the host admin token');
    }
    // A name decoded from the path may hold CR LF: echoed in a header it would make writeHead throw.
    if (!host.hasModule(module)) {
      const named = PRINTABLE.test(module) ? { 'x-hotplane-module': module } : undefined;
      return refuse(res, module, started, headers, 404, `unknown module ${JSON.stringify(module)}`, named);
    }
    readBody(req, maxBody, headers.contentLength, (body) => {
      if (body === null) return refuse(res, module, started, headers, 413, `request body over ${maxBody} bytes`, { 'x-hotplane-module': module });
      const result = host.dispatch(module, body, { grayId, pinVersion: pin ?? null });
      if (result instanceof Promise) {
        result.then(
          (answer) => respond(res, module, grayId, started, headers, answer),
          (error) => refuse(res, module, started, headers, 500, error instanceof Error ? error.message : String(error)),
        );
      } else {
        respond(res, module, grayId, started, headers, result);
      }
    });
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url === '/metrics') {
      if (metricsToken && !sameToken(req.headers.authorization, metricsToken)) {
        return problem(res, 401, 'GET /metrics needs "Authorization: Bearer <metrics token>" (the host was started with a metrics token)', { 'www-authenticate': 'Bearer' });
      }
      return send(res, 200, await (options.metricsText?.() ?? host.metrics.prometheus()), { 'content-type': 'text/plain; version=0.0.4' });
    }
    if (req.method === 'GET' && url === '/healthz') return send(res, 200, 'ok');
    if (!sameToken(req.headers.authorization, adminToken)) return problem(res, url.startsWith('/v1/') ? 401 : 404, 'not found or not allowed');
    if (req.method === 'GET' && url === '/v1/status') {
      return send(res, 200, JSON.stringify({ hostId: host.hostId, generation: host.generation, versions: host.versionStatuses(), events: host.recentEvents() }), {
        'content-type': 'application/json',
      });
    }
    if (req.method === 'POST' && url === '/v1/desired-state') {
      const body = await readBodyAsync(req, 4 * 1024 * 1024);
      if (!body) return problem(res, 413, 'desired state over 4 MiB');
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        return problem(res, 400, 'the desired state is not JSON');
      }
      const parsed = parseDesiredState(json);
      if (!parsed.ok) return problem(res, 400, parsed.problem);
      const state = parsed.state;
      const refusal = options.approvals?.refusal(state);
      if (refusal) return problem(res, 403, refusal);
      await host.applyDesiredState(state, { local: true });
      return send(res, 200, JSON.stringify({ generation: host.generation }), { 'content-type': 'application/json' });
    }
    if (req.method === 'POST' && url === '/v1/break-glass') {
      if (!options.breakGlass) {
        return problem(res, 404, 'this host takes no break-glass: without a console it has no stable to go back to; POST /v1/desired-state instead');
      }
      const body = await readBodyAsync(req, 16 * 1024);
      if (!body) return problem(res, 413, 'a break-glass request is at most 16 KiB: {"module": "...", "reason": "..."}');
      const request = (() => {
        try {
          return JSON.parse(body.toString('utf8')) as { module?: unknown; reason?: unknown };
        } catch {
          return null;
        }
      })();
      if (typeof request?.module !== 'string' || typeof request.reason !== 'string') return problem(res, 400, 'give {"module": "...", "reason": "..."} as JSON');
      try {
        const made = await options.breakGlass.rollback(request.module, request.reason);
        return send(res, 200, JSON.stringify(made), { 'content-type': 'application/json' });
      } catch (error) {
        if (error instanceof BreakGlassRefused) return problem(res, 409, error.message);
        throw error;
      }
    }
    return problem(res, 404, 'not found');
  }

  return createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'POST' && url.startsWith(INVOKE_PREFIX)) {
      const started = performance.now();
      const moduleName = moduleOf(url);
      if (moduleName === undefined) {
        problem(res, 400, 'the module name in the path is not valid percent-encoding');
        return accessLog?.record(url, null, 400, (performance.now() - started) * 1000, null, null, 'the module name in the path is not valid percent-encoding');
      }
      return invoke(req, res, moduleName, started);
    }
    route(req, res).catch((error) => {
      if (!res.headersSent) problem(res, 500, error instanceof Error ? error.message : String(error));
      else res.destroy();
    });
  });
}
