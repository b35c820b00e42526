import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { fetchWithin, unansweredReason } from './console-client';

// A console (or host) that takes the connection and never answers: a pipeline step must still end, saying why.
const held: IncomingMessage[] = [];
const silent = createServer((request) => held.push(request));
let url: string;

before(async () => {
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/api/trpc/x`;
});
after(() => {
  silent.closeAllConnections();
  silent.close();
});

it('a request to a server that never answers is given up after its deadline, and the reason names the deadline', async () => {
  const error = await fetchWithin(300)(url).then(
    () => assert.fail('answered'),
    (e: unknown) => e,
  );
  assert.equal(held.length, 1, 'the server took the request');
  assert.equal(unansweredReason(error, 300), 'no answer within 0.3 s');
});

it('a caller’s own abort still works beside the deadline, and other failures keep their own words', async () => {
  const mine = new AbortController();
  const pending = fetchWithin(60_000)(url, { signal: mine.signal });
  mine.abort(new Error('stopped by the caller'));
  await assert.rejects(pending, /stopped by the caller/);
  const refused = await fetchWithin(1_000)('http://127.0.0.1:1/').catch((e: unknown) => e);
  assert.equal(unansweredReason(refused), 'fetch failed');
});
