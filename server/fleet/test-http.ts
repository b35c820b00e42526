import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestOf, sendResponse } from './fetch-bridge';

// Serves fetch-style handlers (Request → Response, as Next route handlers are) over real HTTP for tests.

export async function serveFetchHandler(handle: (request: Request) => Promise<Response>) {
  const server = createServer((req, res) => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    handle(requestOf(req, res, origin))
      .then((response) => sendResponse(req, res, response))
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
