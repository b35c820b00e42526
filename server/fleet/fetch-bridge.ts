import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

// Fetch-style handlers (Request → Response, as the fleet handlers are) on node:http(s) servers.

// The request's signal aborts when the client goes away before its answer (a revoked host's socket cut included), as
// Next's does: a held long poll ends with it.
export function requestOf(req: IncomingMessage, res: ServerResponse, origin: string): Request {
  const gone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  return new Request(new URL(req.url ?? '/', origin), {
    method: req.method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    duplex: hasBody ? 'half' : undefined,
    signal: gone.signal,
  } as RequestInit);
}

export async function sendResponse(req: IncomingMessage, res: ServerResponse, response: Response): Promise<void> {
  // A handler that refused a body without reading it has cut the stream, so this connection cannot be reused.
  if (!req.complete) res.setHeader('connection', 'close');
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) return void res.end();
  for await (const chunk of Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>)) res.write(chunk);
  res.end();
}
