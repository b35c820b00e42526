import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { AuditActor } from '../audit/actor';
import type { DesiredModule, HostReport, MetricSample } from '../protocol';
import { reportedCrash } from '../rollout/fleet-bridge';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { replaceDesiredModule } from './desired-state';
import { registerHost, revokeHost } from './hosts';
import { FleetMetrics } from './metrics-store';
import { reportIntakeOf } from './report-batch';
import { acceptHostReport } from './report-intake';

// The fleet listener's intake (docs/fleet.md#report-intake), on the test database (SQLite, or PostgreSQL with
// HOTPLANE_TEST_DATABASE=postgresql): the common report is bounded at once and its host facts written in one batch;
// a report with events is written at once with its audit events.

describe('report intake: the common report batched, a report with events at once', () => {
  let f: ConsoleFixture;
  const admin: AuditActor = { id: 'batch-admin', name: 'admin@test', roles: ['admin'] };
  const ledger = (...versions: string[]): DesiredModule => ({
    module: 'ledger',
    versions: versions.map((version, i) => ({ version, sm3: String(i + 1).repeat(64), weight: i === 0 ? 100 : 0, isolation: 'process' as const })),
  });
  const setDesired = (desired: DesiredModule) => f.db.$transaction((tx) => replaceDesiredModule(tx, 'ledger', desired, 'test'));
  const generation = async () => (await f.db.fleetGeneration.findUniqueOrThrow({ where: { id: 1 } })).generation;
  const sample = (version: string, requests: number): MetricSample => ({
    module: 'ledger', version, second: new Date(Math.floor(Date.now() / 1000 - 1) * 1000).toISOString(),
    requests, ok: requests, app4xx: 0, errors5xx: 0, timeouts: 0, crashes: 0, p50: 900, p95: 1500, p99: 2000, max: 3000,
  });
  const report = (hostId: string, appliedGeneration: number, parts: Partial<HostReport> = {}): HostReport => ({
    hostId, appliedGeneration, startedAt: new Date().toISOString(),
    versions: [{ module: 'ledger', version: '1.0.0', phase: 'serving', weight: 100, healthy: true, since: new Date().toISOString() }] as HostReport['versions'],
    metrics: [sample('1.0.0', 10)], events: [], ...parts,
  });
  const host = (id: string) => ({ id, name: id });
  const row = (id: string) => f.db.host.findUniqueOrThrow({ where: { id } });

  before(async () => {
    f = await createConsoleFixture();
    for (const name of ['b-1', 'b-2', 'b-3', 'b-4', 'b-5', 'b-6']) await registerHost(f.db, admin, { name, zone: 'default' });
    await setDesired(ledger('1.0.0'));
  });

  it('writes every host reported since the last write in one batch, and nothing before it', async () => {
    const metrics = new FleetMetrics();
    const { batch } = reportIntakeOf(f.db, metrics);
    const g = await generation();
    const receivedAt = new Date(Date.now() - 123);
    for (const id of ['b-1', 'b-2', 'b-3']) await acceptHostReport(f.db, metrics, host(id), report(id, g), undefined, receivedAt);
    assert.equal(batch.size, 3);
    assert.equal((await row('b-1')).lastSeenAt, null, 'acknowledged, not yet written');
    assert.equal(metrics.seriesOf('b-1').size, 1, 'its metrics are recorded at once');
    assert.equal(await batch.flush(), 3);
    assert.deepEqual(batch.figures.batches, 1, 'one write for the three hosts');
    for (const id of ['b-1', 'b-2', 'b-3']) {
      const written = await row(id);
      assert.equal(written.lastSeenAt?.getTime(), receivedAt.getTime(), `${id} seen when its report was received`);
      assert.equal(written.appliedGeneration, g);
      assert.match(written.lastReport ?? '', /"version":"1.0.0"/);
    }
  });

  it('a report with events is written at once with its audit event, after the pending facts of its host, and a late batch never rolls it back', async () => {
    const metrics = new FleetMetrics();
    const { batch } = reportIntakeOf(f.db, metrics);
    const g = await generation();
    await acceptHostReport(f.db, metrics, host('b-4'), report('b-4', g - 1), undefined, new Date(Date.now() - 500));
    const crashAt = new Date();
    const crash = { time: crashAt.toISOString(), module: 'ledger', version: '1.0.0', kind: 'crashed' as const, message: 'SIGSEGV in handle()' };
    await acceptHostReport(f.db, metrics, host('b-4'), report('b-4', g, { events: [crash] }), undefined, crashAt);
    const written = await row('b-4');
    assert.equal(written.appliedGeneration, g, 'written at once, not batched');
    assert.equal(batch.size, 0, 'the older pending facts were written first, then left nothing behind');
    const audited = await f.db.auditEvent.findMany({ where: { action: 'host.version_crashed', targetId: 'ledger@1.0.0' } });
    assert.equal(audited.length, 1);
    const crashed = await f.db.$transaction((tx) => reportedCrash(tx, 'ledger', '1.0.0', new Date(crashAt.getTime() - 1000)));
    assert.match(crashed ?? '', /b-4: 1.0.0 crashed/, 'the engine sees the crash as soon as the report is answered');

    // An older report's facts (another replica's late batch) do not overwrite the newer row.
    const stale = reportIntakeOf(f.db, new FleetMetrics()).batch;
    stale.add('b-4', { lastSeenAt: new Date(crashAt.getTime() - 200), appliedGeneration: g - 1, processStartedAt: 'stale', lastReport: '[]' });
    await stale.flush();
    assert.equal((await row('b-4')).appliedGeneration, g);
    assert.notEqual((await row('b-4')).processStartedAt, 'stale');
  });

  it('attack: a revoked host\'s acknowledged report is not written by the batch', async () => {
    const metrics = new FleetMetrics();
    const { batch } = reportIntakeOf(f.db, metrics);
    await acceptHostReport(f.db, metrics, host('b-5'), report('b-5', await generation()));
    await revokeHost(f.db, admin, 'b-5', metrics);
    await batch.flush();
    assert.equal((await row('b-5')).lastSeenAt, null);
    await assert.rejects(acceptHostReport(f.db, metrics, host('b-5'), report('b-5', await generation())), /was revoked/);
  });

  it('attack: the bounds still apply to a batched report (a forged count is refused, nothing kept)', async () => {
    const metrics = new FleetMetrics();
    const { batch } = reportIntakeOf(f.db, metrics);
    await assert.rejects(acceptHostReport(f.db, metrics, host('b-6'), report('b-6', await generation(), { metrics: [sample('1.0.0', 200_000)] })), /requests\/s/);
    assert.equal(batch.size, 0);
    assert.equal(metrics.seriesOf('b-6').size, 0);
  });

  it('reads the reportable versions once for many reports, and again at once for a report of a newer generation', async () => {
    const metrics = new FleetMetrics();
    const { reportable } = reportIntakeOf(f.db, metrics);
    const g = await generation();
    const readsBefore = reportable.reads;
    for (let i = 0; i < 5; i++) await acceptHostReport(f.db, metrics, host('b-1'), report('b-1', g));
    assert.ok(reportable.reads - readsBefore <= 1, `${reportable.reads - readsBefore} reads for 5 reports`);
    await setDesired(ledger('2.0.0', '1.0.0'));
    const newer = report('b-1', await generation(), { versions: [], metrics: [sample('2.0.0', 5)] });
    const result = await acceptHostReport(f.db, metrics, host('b-1'), newer);
    assert.deepEqual(result.ignored, [], 'the version the fleet was just told to run is kept');
    assert.equal(result.generation, await generation());
    assert.equal(metrics.seriesOf('b-1').size, 2);
  });
});
