import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCaller } from '../api/root';
import { revokeVersion } from '../artifacts/catalog';
import type { SessionUser } from '../auth/session';
import { createDb } from '../db/client';
import { MAX_REPORT_BYTES, type HostReport, type MetricSample } from '../protocol';
import { putLiveApproved } from '../testing/approved-desired';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { holdWriteLock } from '../testing/sqlite-write-lock';
import { startTestFleet, type TestFleet, type TestHostClient } from '../testing/host-identity';
import { testsOnPostgres } from '../testing/test-database';
import { acceptReport } from './fleet-http';
import { moduleMetrics } from './metrics-query';
import { FleetMetrics } from './metrics-store';
import { flushReportBatches } from './report-batch';
import { serveFetchHandler } from './test-http';

const admin: SessionUser = { id: 'u-admin', name: 'admin', email: 'admin@test', roles: ['admin'], via: 'cookie' };
const operator: SessionUser = { id: 'u-operator', name: 'operator', email: 'operator@test', roles: ['operator'], via: 'cookie' };

describe('the hosts’ HTTP contract over the fleet listener: desired state, artifacts, reports', () => {
  let f: ConsoleFixture;
  let fleet: TestFleet;
  let client: TestHostClient;
  let joinToken: string;
  let ledgerSm3: string;
  let ledgerSha256: string;
  const metrics = new FleetMetrics();
  const sameOrigin = new Headers({ origin: 'http://localhost:3000', host: 'localhost:3000' });
  const as = (user: SessionUser) => createCaller({ db: f.db, headers: sameOrigin, user });
  const get = (path: string, headers: Record<string, string> = {}) => client.fetch(path, { headers });
  const post = (body: string) => client.fetch('/api/fleet/report', { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  before(async () => {
    f = await createConsoleFixture();
    for (const version of ['1.0.0', '1.1.0']) {
      const result = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', version), module: 'ledger', version }));
      assert.equal(result.outcome, 'accepted', result.message);
    }
    ({ sm3: ledgerSm3, sha256: ledgerSha256 } = await f.db.moduleVersion.findFirstOrThrow({ where: { version: '1.0.0' } }));
    fleet = await startTestFleet(f.db, metrics);
    ({ joinToken } = await as(admin).fleet.registerHost({ name: 'edge-1', address: 'http://10.0.0.5:7400' }));
    client = await fleet.enrolWith(joinToken);
  });
  after(() => fleet.close());

  it('registers a host with a join token shown once, only its hash stored, and audited', async () => {
    assert.match(joinToken, /^hpj_[A-Za-z0-9_-]{40,}$/);
    const row = await f.db.hostJoinToken.findFirstOrThrow({ where: { hostId: 'edge-1' } });
    assert.notEqual(row.tokenHash, joinToken);
    assert.ok(!JSON.stringify(await f.db.host.findUniqueOrThrow({ where: { id: 'edge-1' } })).includes(joinToken));
    assert.equal((await f.db.auditEvent.findFirstOrThrow({ where: { action: 'host.join_token_created' } })).targetId, 'edge-1');
    await assert.rejects(as(admin).fleet.registerHost({ name: 'edge-1' }), /registered already/);
    await assert.rejects(as(operator).fleet.registerHost({ name: 'edge-2' }), /fleet\.manage/);
  });

  it('serves the desired state with its generation as ETag, and 304 while it is unchanged', async () => {
    const first = await get('/api/fleet/desired-state');
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { generation: 0, modules: [] });
    assert.equal(first.headers.get('etag'), '"0.0"');
    const unchanged = await get('/api/fleet/desired-state', { 'if-none-match': '"0.0"' });
    assert.equal(unchanged.status, 304);
    assert.equal(await unchanged.text(), '');

    await putLiveApproved(f.db, f.actor, { module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'inproc' }] });
    const changed = await get('/api/fleet/desired-state', { 'if-none-match': '"0.0"' });
    assert.equal(changed.status, 200);
    assert.equal(changed.headers.get('etag'), '"1.0"');
    assert.deepEqual(await changed.json(), {
      generation: 1,
      modules: [{ module: 'ledger', versions: [{ version: '1.0.0', sm3: ledgerSm3, weight: 100, isolation: 'inproc', signerSerial: (await f.db.signer.findFirstOrThrow()).serial }] }],
    });
  });

  it('attack: a bearer token does not stand in for a client certificate, a person’s API token included', async () => {
    const response = await fetch(`${fleet.url}/api/fleet/desired-state`, { headers: { authorization: 'Bearer hp_personal' } }).catch((error: Error) => error);
    // Undici does not know the console's CA: the TLS handshake fails before any header is sent.
    assert.ok(response instanceof Error, 'an unauthenticated client got an answer');
  });

  it('streams the exact accepted bytes, 404 for an unknown digest and 410 for a revoked version', async () => {
    const served = await get(`/api/fleet/artifacts/${ledgerSm3}`);
    assert.equal(served.status, 200);
    const stored = readFileSync((await f.db.moduleVersion.findFirstOrThrow({ where: { sm3: ledgerSm3 } })).storePath);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), stored);
    assert.equal(served.headers.get('content-length'), String(stored.length));
    assert.equal(served.headers.get('x-hotplane-version'), '1.0.0');

    assert.equal((await get(`/api/fleet/artifacts/${'0'.repeat(64)}`)).status, 404);
    assert.equal((await get('/api/fleet/artifacts/..%2F..%2Fetc%2Fpasswd')).status, 404);
    const newer = await f.db.moduleVersion.findFirstOrThrow({ where: { version: '1.1.0' } });
    await revokeVersion(f.db, f.actor, newer.id, 'signed by mistake');
    const revoked = await get(`/api/fleet/artifacts/${newer.sm3}`);
    assert.equal(revoked.status, 410);
    assert.match((await revoked.json()).message, /revoked \(signed by mistake\)/);
    const told = await get('/api/fleet/desired-state', { 'if-none-match': '"1.0"' });
    assert.equal(told.status, 200, 'a revocation changes the tag, so every host hears of it at its next poll');
    assert.equal(told.headers.get('etag'), '"1.1"');
    assert.deepEqual((await told.json()).revoked, [newer.sm3]);
  });

  function sample(second: number, i: number): MetricSample {
    return {
      module: 'ledger', version: '1.0.0', second: new Date(second * 1000).toISOString(),
      requests: 10, ok: 8, app4xx: 1, errors5xx: 1, timeouts: 0, crashes: 0,
      p50: 1000 + i, p95: 2000 + 10 * i, p99: 3000 + 10 * i, max: 5000 + i,
    };
  }
  const windowStart = (() => {
    const s = Math.floor(Date.now() / 1000) - 120;
    return s - (s % 10);
  })();

  function report(overrides: Partial<HostReport> = {}): HostReport {
    return {
      hostId: 'edge-1',
      appliedGeneration: 1,
      startedAt: '2026-11-22T09:00:00.000Z',
      versions: [{
        module: 'ledger', version: '1.0.0', sm3: ledgerSm3, isolation: 'inproc', phase: 'serving', weight: 100, healthy: true,
        load: { verifyMs: 2, dlopenMs: 1, initMs: 0.5, selfTestMs: 0.4 }, inFlight: 0, goRuntime: false, since: '2026-11-22T09:00:01.000Z',
      }],
      metrics: Array.from({ length: 20 }, (_, i) => sample(windowStart + i, i % 10)),
      events: [
        { time: '2026-11-22T09:00:02.000Z', module: 'ledger', version: '1.0.0', kind: 'weights', message: '1.0.0=100%' },
        {
          time: '2026-11-22T09:00:02.500Z', module: 'ledger', version: '1.0.0', kind: 'serving', message: 'serving (inproc)',
          artifact: { path: `/var/lib/hotplane/host/artifacts/${ledgerSm3}.so`, sha256: ledgerSha256, signerSerial: 'from-the-desired-state', result: 'loaded' },
        },
        { time: '2026-11-22T09:00:03.000Z', module: 'ledger', version: '1.0.0', kind: 'crashed', message: 'cell died of SIGSEGV' },
        { time: '2026-11-22T09:00:04.000Z', module: 'ledger', version: '1.1.0', kind: 'load-failed', message: 'self-test failed' },
      ],
      ...overrides,
    };
  }

  // The console last heard from edge-1 before these seconds: the host kept them while the console was away.
  const heardFromHostBefore = (second: number) => f.db.host.update({ where: { id: 'edge-1' }, data: { lastSeenAt: new Date(second * 1000) } });

  it('takes a report: host row, events with audit for the ones that matter, and 10-second rollups', async () => {
    await heardFromHostBefore(windowStart - 60);
    const response = await post(JSON.stringify(report()));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { generation: 1, ignored: ['ledger 1.1.0'] }, '1.1.0 is not in the desired state: its event is left out');
    const host = await f.db.host.findUniqueOrThrow({ where: { id: 'edge-1' } });
    assert.equal(host.appliedGeneration, 1);
    assert.ok(host.lastSeenAt && Date.now() - host.lastSeenAt.getTime() < 5_000);
    assert.equal(JSON.parse(host.lastReport!)[0].phase, 'serving');

    const events = await f.db.hostEvent.findMany({ orderBy: { id: 'asc' } });
    assert.deepEqual(events.map((e) => e.kind), ['weights', 'serving', 'crashed']);
    const loaded = JSON.parse((await f.db.auditEvent.findFirstOrThrow({ where: { action: 'host.version_loaded', targetId: 'ledger@1.0.0' } })).details);
    assert.deepEqual(
      [loaded.host, loaded.path, loaded.sha256, loaded.signerSerial, loaded.result, loaded.sha256MatchesRegistry],
      ['edge-1', `/var/lib/hotplane/host/artifacts/${ledgerSm3}.so`, ledgerSha256, 'from-the-desired-state', 'loaded', true],
    );
    assert.ok(events.every((e) => e.time.getTime() >= (windowStart - 65) * 1000), 'times before the previous report are moved up to it');
    const crashed = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'host.version_crashed' } });
    assert.deepEqual([crashed.actorId, crashed.targetId, JSON.parse(crashed.details).message], ['host:edge-1', 'ledger@1.0.0', 'cell died of SIGSEGV']);
    assert.equal(await f.db.auditEvent.count({ where: { action: 'host.version_failed', targetId: 'ledger@1.1.0' } }), 0);
    const ignored = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'host.report_items_ignored', targetId: 'edge-1' } });
    assert.deepEqual(JSON.parse(ignored.details).versions, ['ledger 1.1.0']);
    assert.equal(await f.db.auditEvent.count({ where: { action: { startsWith: 'host.weights' } } }), 0);

    const rollups = await f.db.metricRollup.findMany({ orderBy: { start: 'asc' } });
    assert.equal(rollups.length, 2);
    for (const rollup of rollups) {
      assert.deepEqual([rollup.seconds, rollup.requests, rollup.ok, rollup.app4xx, rollup.errors5xx], [10, 100, 80, 10, 10]);
      assert.deepEqual([rollup.p95, rollup.p99, rollup.max], [2090, 3090, 5009]);
      assert.ok(Math.abs(rollup.p50 - 1004.5) <= 1);
    }
    assert.equal(rollups[0].start.getTime(), windowStart * 1000);
  });

  it('merges a late second into its stored window, and charts windows from before the console started from the rollups', async () => {
    const late = { ...sample(windowStart + 3, 0), requests: 5, ok: 5, app4xx: 0, errors5xx: 0, p95: 9000 };
    await heardFromHostBefore(windowStart);
    assert.equal((await post(JSON.stringify(report({ metrics: [late], events: [] })))).status, 200);
    // Closed windows are written with the report batch (report-batch.ts), within FLUSH_EVERY_MS.
    await flushReportBatches();
    const first = await f.db.metricRollup.findFirstOrThrow({ where: { start: new Date(windowStart * 1000) } });
    assert.deepEqual([first.seconds, first.requests, first.p95], [11, 105, 9000]);

    const chart = await moduleMetrics(f.db, metrics, { module: 'ledger', seconds: 600 });
    const points = chart.versions.find((v) => v.version === '1.0.0')!.points;
    assert.deepEqual(points.map((p) => p.t), [windowStart * 1000, (windowStart + 10) * 1000]);
    assert.equal(points[1].rps, 10);
    assert.equal(points[1].errorPercent, 10);
  });

  it('refuses a malformed, oversized or misaddressed report without changing the host', async () => {
    const seen = (await f.db.host.findUniqueOrThrow({ where: { id: 'edge-1' } })).lastSeenAt;
    const notJson = await post('{');
    assert.equal(notJson.status, 400);
    const wrongShape = await post(JSON.stringify({ ...report(), appliedGeneration: 'one' }));
    assert.equal(wrongShape.status, 400);
    assert.match((await wrongShape.json()).message, /appliedGeneration/);
    const huge = await post(JSON.stringify({ ...report(), padding: 'x'.repeat(MAX_REPORT_BYTES) }));
    assert.equal(huge.status, 413);
    assert.match((await huge.json()).message, new RegExp(`^a report is at most ${MAX_REPORT_BYTES} bytes \\(MAX_REPORT_BYTES\\)`));
    assert.deepEqual((await f.db.host.findUniqueOrThrow({ where: { id: 'edge-1' } })).lastSeenAt, seen);
  });

  it('answers a report 503 with the lock’s own words while another process holds the write lock, and keeps none of it', { skip: testsOnPostgres() && "SQLite's single write lock" }, async () => {
    const file = path.join(f.dataDir, 'hotplane.db');
    // The same file, with a wait short enough for a test; the console's own client would wait 10 s.
    const impatient = createDb(`file:${file}`, { lockWaitMs: 300 });
    const impatientServer = await serveFetchHandler((request) => acceptReport({ db: impatient, metrics }, { id: 'edge-1', name: 'edge-1', zone: 'default' }, request));
    const seen = (await f.db.host.findUniqueOrThrow({ where: { id: 'edge-1' } })).lastSeenAt;
    const events = await f.db.hostEvent.count();
    const holder = await holdWriteLock(file);
    try {
      const response = await fetch(`${impatientServer.url}/api/fleet/report`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(report()),
      });
      assert.equal(response.status, 503);
      assert.match((await response.json()).message, /^the database is locked by another connection .*nothing was written, try again$/);
    } finally {
      await holder.release();
      await impatientServer.close();
      await impatient.$disconnect();
    }
    assert.deepEqual((await f.db.host.findUniqueOrThrow({ where: { id: 'edge-1' } })).lastSeenAt, seen);
    assert.equal(await f.db.hostEvent.count(), events);
  });

  it('attack: a host certificate reaches the fleet routes only, never tRPC (the listener does not serve it)', async () => {
    const before = { desired: await f.db.desiredModule.count(), requests: await f.db.changeRequest.count() };
    const query = await get('/api/trpc/fleet.hosts');
    assert.equal(query.status, 404);
    const mutation = await client.fetch('/api/trpc/rollouts.changes.proposeDesired', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ module: 'ledger', versions: [], reason: 'a host tries to remove ledger' }),
    });
    assert.equal(mutation.status, 404);
    assert.deepEqual({ desired: await f.db.desiredModule.count(), requests: await f.db.changeRequest.count() }, before);
  });

  it('attack: a revoked host is refused everywhere at once', async () => {
    await as(admin).fleet.revokeHost({ hostId: 'edge-1' });
    const refused = async (answer: Promise<Response>) => assert.notEqual(await answer.then((r) => r.status, () => 'cut'), 200);
    await refused(get('/api/fleet/desired-state'));
    await refused(get(`/api/fleet/artifacts/${ledgerSm3}`));
    await refused(post(JSON.stringify(report({ metrics: [], events: [] }))));
    assert.equal(await f.db.auditEvent.count({ where: { action: 'host.revoked', targetId: 'edge-1' } }), 1);
    const listed = await as(operator).fleet.hosts();
    assert.ok(listed.hosts.find((h) => h.id === 'edge-1')?.revokedAt);
  });
});
