import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ControlPlaneAgent } from './agent';
import { ConsoleApprovals } from './console-approvals';
import { Host } from './host';
import { createHostHttpServer } from './http-server';
import { exampleArtifacts } from './testing';
import type { DesiredState, DesiredVersion } from '../protocol';

// The host's local admin (POST /v1/desired-state with the host admin token) against the console's word: a real host
// and its HTTP server, an agent, and a stand-in console serving desired states with ETags.

const ADMIN = 'host-admin-token';
let artifacts: Awaited<ReturnType<typeof exampleArtifacts>>;
let consoleServer: Server;
let consoleOrigin: string;
let state: DesiredState;
const polls: (string | undefined)[] = [];
/** When set, the stand-in console refuses reports with this status. */
let refuseReports: number | null = null;
const reports: { metrics: unknown[] }[] = [];
let v100: DesiredVersion;
let v110: DesiredVersion;

const tagOf = (s: DesiredState) => `"${s.generation}.${s.revoked?.length ?? 0}"`;

before(async () => {
  artifacts = await exampleArtifacts();
  v100 = await artifacts.version('ledger', '1.0.0', { config: 'alice 10\n', isolation: 'inproc' });
  v110 = await artifacts.version('ledger', '1.1.0', { config: 'alice 10\n', isolation: 'inproc' });
  consoleServer = createServer((req, res) => {
    if (req.url === '/api/fleet/desired-state') {
      polls.push(req.headers['if-none-match']);
      if (req.headers['if-none-match'] === tagOf(state)) return void res.writeHead(304).end();
      res.writeHead(200, { 'content-type': 'application/json', etag: tagOf(state) });
      return void res.end(JSON.stringify(state));
    }
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk));
    req.on('end', () => {
      if (refuseReports) return void res.writeHead(refuseReports, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'INVALID_INPUT', message: 'a cap broken' }));
      reports.push(JSON.parse(body) as { metrics: unknown[] });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => consoleServer.listen(0, '127.0.0.1', resolve));
  consoleOrigin = `http://127.0.0.1:${(consoleServer.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => consoleServer.close(() => resolve())));

async function startHost() {
  const dataDir = artifacts.tempDir();
  const host = new Host({ dataDir, fetchArtifact: async (sm3) => createReadStream(artifacts.artifactPath(sm3)) }).start();
  const approvals = await new ConsoleApprovals(path.join(dataDir, 'console-approved.json')).load();
  const agent = new ControlPlaneAgent(host, { controlPlane: consoleOrigin, fetch, dataDir, approvals });
  const server = createHostHttpServer({ host, adminToken: ADMIN, approvals });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    agent,
    override: (body: DesiredState) =>
      fetch(`${base}/v1/desired-state`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    invoke: async () => {
      const response = await fetch(`${base}/v1/invoke/ledger`, { method: 'POST', body: 'balance alice' });
      return { status: response.status, version: response.headers.get('x-hotplane-version') };
    },
    async stop() {
      agent.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await host.stop();
    },
  };
}

test('attack: the host’s local admin cannot load a version the console never approved for this host', async () => {
  state = { generation: 1, modules: [{ module: 'ledger', versions: [{ ...v100, weight: 100 }] }] };
  const h = await startHost();
  try {
    await h.agent.syncOnce();
    const response = await h.override({ generation: 99, modules: [{ module: 'ledger', versions: [{ ...v110, weight: 100 }] }] });
    assert.equal(response.status, 403);
    assert.match(((await response.json()) as { error: string }).error, /^ledger 1\.1\.0 \(SM3 [0-9a-f]{64}\) with this config was never in a desired state from the console/);
    const withOtherConfig = await h.override({ generation: 99, modules: [{ module: 'ledger', versions: [{ ...v100, weight: 100, config: 'mallory 1000000\n' }] }] });
    assert.equal(withOtherConfig.status, 403, 'an approved version with a config of the admin’s choosing is not what the console approved');
    assert.deepEqual(await h.invoke(), { status: 200, version: '1.0.0' }, 'nothing changed');
    assert.equal(h.host.generation, 1);
  } finally {
    await h.stop();
  }
});

test('attack: the host’s local admin cannot bring back a version the console has since revoked', async () => {
  state = { generation: 1, modules: [{ module: 'ledger', versions: [{ ...v100, weight: 90 }, { ...v110, weight: 10 }] }] };
  const h = await startHost();
  try {
    await h.agent.syncOnce();
    state = { generation: 2, modules: [{ module: 'ledger', versions: [{ ...v100, weight: 100 }] }], revoked: [v110.sm3] };
    await h.agent.syncOnce();
    const response = await h.override({ generation: 3, modules: [{ module: 'ledger', versions: [{ ...v110, weight: 100 }] }] });
    assert.equal(response.status, 403);
    assert.match(((await response.json()) as { error: string }).error, /^ledger 1\.1\.0 \(SM3 [0-9a-f]{64}\) was revoked by the console: a local override cannot load it$/);
    assert.deepEqual(await h.invoke(), { status: 200, version: '1.0.0' });
  } finally {
    await h.stop();
  }
});

test('attack: a local override, even one reusing the console’s generation number, is undone by the agent at its next poll', async () => {
  state = { generation: 5, modules: [{ module: 'ledger', versions: [{ ...v100, weight: 100 }, { ...v110, weight: 0 }] }] };
  const h = await startHost();
  try {
    await h.agent.syncOnce();
    await h.agent.syncOnce();
    assert.equal(polls.at(-1), '"5.0"', 'an unchanged console state is polled for conditionally');
    const drift = await h.override({ generation: 5, modules: [{ module: 'ledger', versions: [{ ...v100, weight: 0 }, { ...v110, weight: 100 }] }] });
    assert.equal(drift.status, 200, 'moving weight between approved versions is allowed locally');
    assert.deepEqual(await h.invoke(), { status: 200, version: '1.1.0' });
    assert.equal(h.host.locallyOverridden, true);

    await h.agent.syncOnce();
    assert.equal(polls.at(-1), undefined, 'the ETag does not pin the drift: the whole state is asked for again');
    assert.deepEqual(await h.invoke(), { status: 200, version: '1.0.0' }, 'the console’s weights are back');
    assert.equal(h.host.locallyOverridden, false);
    await h.agent.syncOnce();
    assert.equal(polls.at(-1), '"5.0"', 'back on the console’s state, polls are conditional again');
  } finally {
    await h.stop();
  }
});

test('a report the console refuses 422 (a cap broken) is dropped, not resent with every poll', async () => {
  state = { generation: 1, modules: [{ module: 'ledger', versions: [{ ...v100, weight: 100 }] }] };
  const h = await startHost();
  try {
    await h.agent.syncOnce();
    await h.invoke();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    refuseReports = 422;
    await assert.rejects(h.agent.syncOnce(), /^Error: report: HTTP 422, a cap broken$/);
    refuseReports = null;
    const sent = reports.length;
    await h.agent.syncOnce().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await h.agent.syncOnce();
    assert.ok(reports.length > sent);
    assert.ok(reports.slice(sent).every((r) => r.metrics.length === 0), 'the refused second is not sent again');
  } finally {
    refuseReports = null;
    await h.stop();
  }
});

test('a host without a console takes any desired state from its local admin (it has no other source)', async () => {
  const dataDir = artifacts.tempDir();
  const host = new Host({ dataDir, fetchArtifact: async (sm3) => createReadStream(artifacts.artifactPath(sm3)) }).start();
  const server = createHostHttpServer({ host, adminToken: ADMIN });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/desired-state`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ generation: 1, modules: [{ module: 'ledger', versions: [{ ...v110, weight: 100 }] }] }),
    });
    assert.equal(response.status, 200);
    assert.equal(host.generation, 1);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await host.stop();
  }
});
