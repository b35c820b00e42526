import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AccessLog } from './access-log';
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
  /** What GET /metrics answers (default this process's HostMetrics); a worker's asks its primary for the whole host's. */
  metricsText?: () => string | Promise<string>;
}

const INVOKE_PREFIX = '/v1/invoke/';

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
function readBody(req: IncomingMessage, limit: number, done: (body: Buffer | null) => void) {
  let first: Buffer | null = null;
  let more: Buffer[] | null = null;
  let size = 0;
  let finished = Number(req.headers['content-length'] ?? -1) > limit;
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
  return new Promise((resolve) => readBody(req, limit, resolve));
}

// The host's HTTP face: the invoke API real applications call, Prometheus metrics, and an admin surface.
export function createHostHttpServer(options: HostHttpOptions): Server {
  const { host, adminToken, accessLog, metricsToken } = options;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  function respond(req: IncomingMessage, res: ServerResponse, module: string, grayId: string | null, started: number, result: InvokeResult) {
    // A flat header list is the cheapest form writeHead takes.
    const headers = ['content-length', String(result.body.length), 'content-type', 'application/octet-stream', 'x-hotplane-module', module];
    if (result.version) headers.push('x-hotplane-version', result.version);
    if (result.reason && result.status >= 500) headers.push('x-hotplane-reason', result.reason.replace(/[^\x20-\x7e]/g, ' ').slice(0, 200));
    res.writeHead(result.status, headers);
    res.end(result.body);
    if (accessLog?.enabled) {
      const traceparent = req.headers.traceparent;
      accessLog.request({
        module,
        version: result.version,
        status: result.status,
        latencyUs: Math.round((performance.now() - started) * 1000),
        grayId,
        traceparent: typeof traceparent === 'string' ? traceparent : null,
        reason: result.status >= 500 ? result.reason : undefined,
      });
    }
  }

  // The hot path: callbacks, not async frames, and no Promise at all when an in-process cell answers.
  function invoke(req: IncomingMessage, res: ServerResponse, module: string) {
    const started = performance.now();
    const rawGray = req.headers['x-gray-id'];
    const grayId = typeof rawGray === 'string' ? sanitizeGrayId(rawGray) : null;
    if (typeof rawGray === 'string' && grayId === null) return problem(res, 400, 'X-Gray-Id must be 1-128 characters of A-Z a-z 0-9 . _ : -');
    const pin = req.headers['x-hotplane-pin'];
    if (typeof pin === 'string' && !sameToken(req.headers.authorization, adminToken)) {
      return problem(res, 403, 'X-Hotplane-Pin needs the host admin token');
    }
    if (!host.hasModule(module)) return problem(res, 404, `unknown module "${module}"`, { 'x-hotplane-module': module });
    readBody(req, maxBody, (body) => {
      if (body === null) return problem(res, 413, `request body over ${maxBody} bytes`, { 'x-hotplane-module': module });
      const result = host.dispatch(module, body, { grayId, pinVersion: typeof pin === 'string' ? pin : null });
      if (result instanceof Promise) {
        result.then(
          (answer) => respond(req, res, module, grayId, started, answer),
          (error) => problem(res, 500, error instanceof Error ? error.message : String(error)),
        );
      } else {
        respond(req, res, module, grayId, started, result);
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
    return problem(res, 404, 'not found');
  }

  return createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'POST' && url.startsWith(INVOKE_PREFIX)) {
      let moduleName: string;
      try {
        moduleName = decodeURIComponent(url.slice(INVOKE_PREFIX.length).split('?')[0]);
      } catch {
        return problem(res, 400, 'the module name in the path is not valid percent-encoding');
      }
      return invoke(req, res, moduleName);
    }
    route(req, res).catch((error) => {
      if (!res.headersSent) problem(res, 500, error instanceof Error ? error.message : String(error));
      else res.destroy();
    });
  });
}
