import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ConsoleLinks, ConsoleUnavailable } from './console-links';

// The console list's rules against real loopback servers: sticky, next on failure or 5xx, back-off once all failed.

const fetcher = (url: URL, init?: Parameters<typeof fetch>[1]) => fetch(url, init);

async function server(status: number) {
  const s = createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `status ${status}` })));
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, close: () => new Promise<void>((resolve) => s.close(() => resolve())) };
}

test('refuses a list with no console, or one that is not an http(s) URL, naming what to pass', () => {
  assert.throws(() => new ConsoleLinks(' , '), /no console URL: pass --console https:\/\/console:port/);
  assert.throws(() => new ConsoleLinks(['https://a.example', 'file:///etc/passwd']), /console URL "file:\/\/\/etc\/passwd" is not an http\(s\) URL/);
  assert.deepEqual(new ConsoleLinks(['https://a.example,https://b.example', 'https://c.example']).all, ['https://a.example', 'https://b.example', 'https://c.example']);
});

test('stays with a console that answers, moves on after a refused connection or a 5xx, and backs off once every one failed', async () => {
  const good = await server(200);
  const broken = await server(503);
  const gone = await server(200);
  await gone.close();
  const links = new ConsoleLinks([gone.url, broken.url, good.url]);
  try {
    await assert.rejects(links.request(fetcher, 'desired state', '/x', {}), (error: Error) => error instanceof ConsoleUnavailable && error.message.startsWith(`desired state: ${gone.url} ECONNREFUSED`));
    assert.equal(links.current, broken.url);
    assert.equal(links.backoffMs, 0, 'untried consoles are left');
    await assert.rejects(links.request(fetcher, 'report', '/x', {}), /^Error: report: HTTP 503, status 503$/);
    assert.equal(links.current, good.url);
    for (let i = 0; i < 3; i++) assert.equal((await links.request(fetcher, 'report', '/x', {})).status, 200);
    assert.equal(links.current, good.url, 'sticky');
    await good.close();
    const backoffs: number[] = [];
    for (let i = 0; i < 9; i++) {
      await links.request(fetcher, 'report', '/x', {}).catch(() => null);
      backoffs.push(links.backoffMs);
    }
    assert.deepEqual(backoffs, [0, 0, 250, 250, 250, 500, 500, 500, 1_000], "every console is tried once before the first pause");
  } finally {
    await broken.close();
  }
});
