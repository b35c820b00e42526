import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Host } from './host';
import { createHostHttpServer } from './http-server';

// The host's Prometheus endpoint behind a scraper token, on real loopback HTTP.

describe('host /metrics with a metrics token', () => {
  let host: Host;
  const servers: Server[] = [];

  async function serve(metricsToken: string | null): Promise<string> {
    const server = createHostHttpServer({ host, adminToken: 'admin-token-for-this-test', metricsToken });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  before(() => {
    host = new Host({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'hotplane-metrics-')), fetchArtifact: () => Promise.reject(new Error('no artifacts here')) }).start();
  });
  after(async () => {
    for (const server of servers) server.close();
    await host.stop();
  });

  it('attack: /metrics without the token, or with the admin token or a wrong one, is refused when a token is configured', async () => {
    const base = await serve('scrape-secret-0123456789');
    for (const authorization of [undefined, 'Bearer admin-token-for-this-test', 'Bearer scrape-secret-012345678X', 'scrape-secret-0123456789']) {
      const response = await fetch(`${base}/metrics`, { headers: authorization ? { authorization } : {} });
      assert.equal(response.status, 401, String(authorization));
      assert.match(((await response.json()) as { error: string }).error, /GET \/metrics needs "Authorization: Bearer <metrics token>"/);
    }
    const allowed = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer scrape-secret-0123456789' } });
    assert.equal(allowed.status, 200);
    assert.match(allowed.headers.get('content-type') ?? '', /text\/plain/);
  });

  it('without a token configured, /metrics stays open as before', async () => {
    assert.equal((await fetch(`${await serve(null)}/metrics`)).status, 200);
  });
});
