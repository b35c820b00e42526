import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

// node:http requests in, web Requests to the console's route handlers, their web Responses back out: what Next does
// around a route handler, for the proofs that serve those handlers on loopback themselves.

// The request body as a web stream, read only as the handler reads it. A body the handler never reads is left to
// node:http, which drains it after the answer; one it stops reading (a refused upload) is drained here. Either way
// the connection survives: closing it while the client still sends would reset it before the client reads the answer.
function bodyOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  let listening = false;
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (!listening) {
          listening = true;
          req.on('data', (chunk: Buffer) => {
            if (cancelled) return;
            controller.enqueue(new Uint8Array(chunk));
            req.pause();
          });
          req.on('end', () => cancelled || controller.close());
          req.on('error', (error) => cancelled || controller.error(error));
        }
        req.resume();
      },
      cancel() {
        cancelled = true;
        req.resume();
      },
    },
    { highWaterMark: 0 },
  );
}

export function toRequest(req: IncomingMessage, origin: string): Request {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  // As Next's base server does: the socket's address only when the client named none itself.
  if (!headers.has('x-forwarded-for')) headers.set('x-forwarded-for', req.socket.remoteAddress ?? '');
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  return new Request(new URL(req.url ?? '/', origin), {
    method: req.method,
    headers,
    body: hasBody ? bodyOf(req) : undefined,
    duplex: 'half',
  } as RequestInit);
}

export async function writeResponse(res: ServerResponse, response: Response) {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) if (name !== 'set-cookie') res.setHeader(name, value);
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (response.body) await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), res);
  else res.end();
}
