import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { waitFor } from '../testing/wait-for';
import { ControlPlaneAgent } from './agent';
import { Host } from './host';
import { exampleArtifacts } from './testing';
import type { DesiredState, HostReport } from '../protocol';

// The agent against a stand-in console (desired state with an ETag, report intake), with a real host behind it.

let artifacts: Awaited<ReturnType<typeof exampleArtifacts>>;
let server: Server;
let origin: string;
let state: DesiredState;
/** When set, the report intake refuses with this status and message, as the console does when its database is locked. */
let refuseReports: { status: number; message: string } | null = null;
const conditionalPolls: (string | undefined)[] = [];
const reports: HostReport[] = [];

before(async () => {
  artifacts = await exampleArtifacts();
  state = { generation: 1, modules: [{ module: 'ledger', versions: [await artifacts.version('ledger', '1.0.0', { config: 'alice 10\n' })] }] };
  server = createServer((req, res) => {
    if (req.url === '/api/fleet/desired-state') {
      conditionalPolls.push(req.headers['if-none-match']);
      if (req.headers['if-none-match'] === `"${state.generation}"`) return void res.writeHead(304).end();
      res.writeHead(200, { 'content-type': 'application/json', etag: `"${state.generation}"` });
      return void res.end(JSON.stringify(state));
    }
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk));
    req.on('end', () => {
      if (refuseReports) return void res.writeHead(refuseReports.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'UNAVAILABLE', message: refuseReports.message }));
      reports.push(JSON.parse(body) as HostReport);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('an artifact that could not be fetched fails its version alone, and the state is polled for again (no 304 stands for it) until the host has it', async () => {
  let downloads = 0;
  const dataDir = artifacts.tempDir();
  const host = new Host({
    dataDir,
    fetchRetryMs: 0,
    // The first download breaks off, as when the console restarts mid-transfer.
    fetchArtifact: async (sm3) => {
      if (downloads++ === 0) throw new Error('socket hang up');
      return createReadStream(artifacts.artifactPath(sm3));
    },
  });
  const agent = new ControlPlaneAgent(host, { controlPlane: origin, fetch, dataDir });
  try {
    await agent.syncOnce();
    assert.equal(host.generation, 1, 'the rest of the state applied');
    assert.equal(reports.length, 1, 'the report was pushed');
    const failed = reports[0].events.filter((e) => e.kind === 'load-failed');
    assert.equal(failed.length, 1);
    assert.match(failed[0].message, /^could not fetch the artifact of ledger 1\.0\.0 \(SM3 [0-9a-f]{64}\): socket hang up$/);
    await agent.syncOnce();
    await waitFor('ledger 1.0.0 to serve once fetched', () => host.versionStatuses().some((s) => s.version === '1.0.0' && s.phase === 'serving'));
    assert.deepEqual(conditionalPolls, [undefined, undefined], 'the second poll asked for the whole state again');
    await agent.syncOnce();
    assert.deepEqual(conditionalPolls.at(-1), '"1"', 'once applied, it is polled for conditionally');
    assert.equal((await host.invoke('ledger', Buffer.from('balance alice'))).status, 200);
  } finally {
    agent.stop();
    await host.stop();
  }
});

test('a refused report fails the sync with the console’s own words, and its samples go out with the next one', async () => {
  const dataDir = artifacts.tempDir();
  const host = new Host({ dataDir, fetchArtifact: async (sm3) => createReadStream(artifacts.artifactPath(sm3)) }).start();
  const agent = new ControlPlaneAgent(host, { controlPlane: origin, fetch, dataDir });
  try {
    await agent.syncOnce();
    await host.invoke('ledger', Buffer.from('balance alice'));
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    refuseReports = { status: 503, message: 'the database is locked by another connection' };
    await assert.rejects(agent.syncOnce(), /^Error: report: HTTP 503, the database is locked by another connection$/);
    refuseReports = null;
    const sent = reports.length;
    await agent.syncOnce();
    assert.equal(reports.length, sent + 1);
    assert.ok(reports.at(-1)!.metrics.some((m) => m.requests > 0), 'the second that was refused is in the next report');
  } finally {
    agent.stop();
    await host.stop();
  }
});
