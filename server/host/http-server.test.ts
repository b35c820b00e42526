import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileFetcher } from './artifact-cache';
import { ControlPlaneAgent } from './agent';
import { Host } from './host';
import { createHostHttpServer } from './http-server';
import { exampleArtifacts } from './testing';
import type { DesiredState } from '../protocol';

const ADMIN = 'test-admin-token';
const config = 'alice 1000\nbob 1000\n';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('host HTTP invoke API on loopback', () => {
  let artifacts: Awaited<ReturnType<typeof exampleArtifacts>>;
  let host: Host;
  let server: Server;
  let base: string;
  const invoke = (module: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/invoke/${module}`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers });

  before(async () => {
    artifacts = await exampleArtifacts();
    host = new Host({ dataDir: artifacts.tempDir(), fetchArtifact: fileFetcher(artifacts.artifactPath) }).start();
    server = createHostHttpServer({ host, adminToken: ADMIN, maxBodyBytes: 1024 });
    base = await listen(server);
    await host.applyDesiredState({
      generation: 1,
      modules: [
        {
          module: 'ledger',
          versions: [
            await artifacts.version('ledger', '1.0.0', { weight: 100, config }),
            await artifacts.version('ledger', '1.1.0', { weight: 0, config }),
            await artifacts.version('ledger', '1.2.3', { variant: 'error-prone', weight: 0, config }),
          ],
        },
      ],
    });
  });
  after(async () => {
    server.close();
    await host.stop();
  });

  it('maps module answers to HTTP: 200, 422, and tags the version', async () => {
    const ok = await invoke('ledger', 'balance alice');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-hotplane-module'), 'ledger');
    assert.equal(ok.headers.get('x-hotplane-version'), '1.0.0');
    assert.equal(await ok.text(), 'alice 1000');
    assert.equal((await invoke('ledger', 'transfer alice bob 999999')).status, 422);
  });

  it('404 for an unknown module, 413 over the body limit, 400 for a forged gray id', async () => {
    assert.equal((await invoke('nope', 'x')).status, 404);
    assert.equal((await invoke('ledger', Buffer.alloc(2048, 1))).status, 413);
    assert.equal((await invoke('ledger', 'balance alice', { 'x-gray-id': 'a b\tc' })).status, 400);
  });

  it('pins a version only with the admin token', async () => {
    assert.equal((await invoke('ledger', 'balance alice', { 'x-hotplane-pin': '1.1.0' })).status, 403);
    const pinned = await invoke('ledger', 'balance alice', { 'x-hotplane-pin': '1.1.0', authorization: `Bearer ${ADMIN}` });
    assert.equal(pinned.status, 200);
    assert.equal(pinned.headers.get('x-hotplane-version'), '1.1.0');
  });

  it('answers 500 for a module fault and counts it', async () => {
    const statuses = [];
    const pin = { 'x-hotplane-pin': '1.2.3', authorization: `Bearer ${ADMIN}` };
    for (let i = 0; i < 8; i++) statuses.push((await invoke('ledger', 'balance alice', pin)).status);
    assert.equal(statuses.filter((s) => s === 500).length, 2);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /hotplane_requests_total\{module="ledger",version="1\.2\.3",outcome="fault"\} 2\n/);
    assert.match(metrics, /hotplane_requests_total\{module="ledger",version="1\.2\.3",outcome="ok"\} 6\n/);
  });
});

describe('host agent: pulls desired state, keeps serving it while the console is down', () => {
  it('restores the last desired state from its disk after a restart without the console', async () => {
    const artifacts = await exampleArtifacts();
    const dataDir = artifacts.tempDir();
    const state: DesiredState = { generation: 7, modules: [{ module: 'ledger', versions: [await artifacts.version('ledger', '1.1.0', { weight: 100, config })] }] };
    const reports: unknown[] = [];
    const consoleServer = createServer((req, res) => {
      if (req.url === '/api/fleet/desired-state') {
        res.writeHead(200, { 'content-type': 'application/json', etag: '"7"' }).end(JSON.stringify(state));
      } else if (req.url?.startsWith('/api/fleet/artifacts/')) {
        createReadStream(artifacts.artifactPath(req.url.split('/').pop()!)).pipe(res);
      } else if (req.url === '/api/fleet/report') {
        let body = '';
        req.on('data', (c) => (body += c)).on('end', () => {
          reports.push(JSON.parse(body));
          res.writeHead(204).end();
        });
      } else res.writeHead(404).end();
    });
    const consoleUrl = await listen(consoleServer);

    let agent: ControlPlaneAgent | null = null;
    const first = new Host({ dataDir, hostId: 'h1', fetchArtifact: (sm3) => agent!.fetchArtifact(sm3) }).start();
    agent = new ControlPlaneAgent(first, { controlPlane: consoleUrl, fetch, dataDir });
    await agent.syncOnce();
    assert.equal(first.generation, 7);
    assert.equal((await first.invoke('ledger', Buffer.from('balance alice'))).status, 200);
    assert.equal(reports.length, 1);
    await first.stop();
    consoleServer.close();

    const second = new Host({ dataDir, hostId: 'h1' }).start();
    const offline = new ControlPlaneAgent(second, { controlPlane: consoleUrl, fetch, dataDir });
    await offline.restorePersistedState();
    const answer = await second.invoke('ledger', Buffer.from('transfer alice bob 5'));
    assert.equal(answer.status, 200);
    assert.equal(answer.version, '1.1.0');
    await assert.rejects(offline.syncOnce());
    await second.stop();
  });

  it('applying the same desired state twice changes nothing', async () => {
    const artifacts = await exampleArtifacts();
    const host = new Host({ dataDir: artifacts.tempDir(), fetchArtifact: fileFetcher(artifacts.artifactPath) }).start();
    const state: DesiredState = { generation: 3, modules: [{ module: 'ledger', versions: [await artifacts.version('ledger', '1.0.0', { weight: 100, config })] }] };
    await host.applyDesiredState(state);
    const pid = host.versionStatuses()[0].pid;
    await host.applyDesiredState(state);
    await host.applyDesiredState({ ...state, generation: 4 });
    assert.equal(host.versionStatuses().length, 1);
    assert.equal(host.versionStatuses()[0].pid, pid);
    await host.stop();
  });
});
