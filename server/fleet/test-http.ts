import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

// Serves fetch-style handlers (Request → Response, as Next route handlers are) over real HTTP for tests.

// The request's signal aborts when the client goes away before its answer, as Next's does (a held long-poll ends).
function requestOf(req: IncomingMessage, res: ServerResponse, origin: string): Request {
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

export async function serveFetchHandler(handle: (request: Request) => Promise<Response>) {
  const server = createServer((req, res) => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    handle(requestOf(req, res, origin))
      .then(async (response) => {
        // A handler that refused a body without reading it has cut the stream, so this connection cannot be reused.
        if (!req.complete) res.setHeader('connection', 'close');
        res.writeHead(response.status, Object.fromEntries(response.headers));
        if (!response.body) return void res.end();
        for await (const chunk of Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>)) res.write(chunk);
        res.end();
      })
      .catch((error: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(error.stack);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
