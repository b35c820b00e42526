import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReportBoundsConfig } from '../config';
import type { DesiredModule, HostEvent, HostReport, MetricSample } from '../protocol';
import { reportedCrash } from '../rollout/fleet-bridge';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { waitFor } from '../testing/wait-for';
import { replaceDesiredModule } from './desired-state';
import { startTestFleet, type TestFleet, type TestHostClient } from '../testing/host-identity';
import { revokeHost } from './hosts';
import { FleetMetrics } from './metrics-store';
import { ingestHostReport } from './report-intake';

// Host reports are untrusted input (docs/fleet.md#report-bounds): each attack below is what someone holding a host's
// key and certificate could send, over real mutual TLS to the fleet listener's report route, against a real SQLite file.

const DEFAULT_RPS_CAP = 50_000;

describe('host reports are bounded: versions, timestamps, counts, series, revoked hosts', () => {
  let f: ConsoleFixture;
  let fleet: TestFleet;
  const metrics = new FleetMetrics();
  const clients: Record<string, TestHostClient> = {};
  const post = (hostId: string, report: HostReport) =>
    clients[hostId].fetch('/api/fleet/report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(report) });

  const ledger: DesiredModule = {
    module: 'ledger',
    versions: [
      { version: '1.0.0', sm3: 'a'.repeat(64), weight: 90, isolation: 'process' },
      { version: '1.1.0', sm3: 'b'.repeat(64), weight: 10, isolation: 'process' },
    ],
  };
  const setDesired = (desired: DesiredModule | null) => f.db.$transaction((tx) => replaceDesiredModule(tx, 'ledger', desired, 'test'));

  const nowSecond = () => Math.floor(Date.now() / 1000);
  function sample(version: string, second: number, requests: number, errors = 0): MetricSample {
    return {
      module: 'ledger', version, second: new Date(second * 1000).toISOString(),
      requests, ok: requests - errors, app4xx: 0, errors5xx: errors, timeouts: 0, crashes: 0, p50: 900, p95: 1500, p99: 2000, max: 3000,
    };
  }
  function report(hostId: string, parts: Partial<HostReport> = {}): HostReport {
    return { hostId, appliedGeneration: 1, startedAt: new Date().toISOString(), versions: [], metrics: [], events: [], ...parts };
  }
  const hostRow = (id: string) => f.db.host.findUniqueOrThrow({ where: { id } });
  const refusals = (hostId: string) => f.db.auditEvent.findMany({ where: { action: 'host.report_refused', targetId: hostId }, orderBy: { seq: 'asc' } });

  before(async () => {
    f = await createConsoleFixture();
    fleet = await startTestFleet(f.db, metrics);
    for (const name of ['edge-1', 'edge-2', 'edge-3', 'edge-4', 'edge-5', 'edge-6']) clients[name] = await fleet.enrol(f.actor, name);
    await setDesired(ledger);
  });
  after(() => fleet.close());

  it('attack: a forged report claiming 200,000 OK canary requests in one second is refused whole, naming the requests/s cap', async () => {
    const before = await hostRow('edge-1');
    const forged = report('edge-1', { metrics: [sample('1.1.0', nowSecond() - 1, 200_000)] });
    const response = await post('edge-1', forged);
    assert.equal(response.status, 422);
    const { message } = (await response.json()) as { message: string };
    assert.match(message, new RegExp(`claims 200000 requests in the second .*at most ${DEFAULT_RPS_CAP} requests/s \\(HOTPLANE_REPORT_MAX_RPS\\): nothing of it was kept`));
    // Split over many samples of the same second, written two ways, it adds up all the same.
    const split = Array.from({ length: 4 }, (_, i) => ({ ...sample('1.1.0', nowSecond() - 1, 50_000), second: i % 2 ? new Date((nowSecond() - 1) * 1000).toISOString().replace('Z', '+00:00') : new Date((nowSecond() - 1) * 1000).toISOString() }));
    assert.equal((await post('edge-1', report('edge-1', { metrics: split }))).status, 422);
    assert.deepEqual((await hostRow('edge-1')).lastSeenAt, before.lastSeenAt, 'the host row is untouched');
    assert.equal(metrics.seriesOf('edge-1').size, 0, 'no second of it reached the metrics the canary is judged on');
    assert.match(JSON.parse((await refusals('edge-1'))[0].details).reason, /HOTPLANE_REPORT_MAX_RPS/);
  });

  it('attack: a sample whose outcomes do not add up to its requests is refused, not believed', async () => {
    const inflated = { ...sample('1.1.0', nowSecond() - 1, 100), ok: 1_000 };
    const response = await post('edge-1', report('edge-1', { metrics: [inflated] }));
    assert.equal(response.status, 422);
    assert.match(((await response.json()) as { message: string }).message, /does not add up: ok \+ app4xx \+ errors5xx \+ timeouts = 1000, requests = 100/);
    assert.equal(metrics.seriesOf('edge-1').size, 0);
  });

  it('attack: a crashed event dated 2099 is stored at the receive time and does not poison a rollout started later', async () => {
    const event: HostEvent = { time: '2099-01-01T00:00:00.000Z', module: 'ledger', version: '1.1.0', kind: 'crashed', message: 'cell died of SIGSEGV' };
    const future = sample('1.0.0', Math.floor(Date.parse('2099-01-01T00:00:00Z') / 1000), 10);
    const received = Date.now();
    assert.equal((await post('edge-2', report('edge-2', { events: [event], metrics: [future] }))).status, 200);
    const stored = await f.db.hostEvent.findFirstOrThrow({ where: { hostId: 'edge-2', kind: 'crashed' } });
    assert.ok(stored.time.getTime() <= Date.now() + 5_000, `stored at ${stored.time.toISOString()}, not in 2099`);
    assert.ok(stored.time.getTime() >= received - 5_000);
    const seconds = metrics.moduleSecondsByHost('ledger', 0, 4_102_444_800, ['edge-2']).get('edge-2')!;
    assert.ok(seconds.every((v) => v.seconds.every((s) => s.second <= Math.floor(Date.now() / 1000) + 5)), 'the sample from 2099 counts at the receive time');
    const laterRollout = new Date(Date.now() + 6_000);
    assert.equal(await f.db.$transaction((tx) => reportedCrash(tx, 'ledger', '1.1.0', laterRollout)), null, 'a rollout started after the clamp window does not see it');
  });

  it('attack: a revoked host’s report is refused (its certificate cut at the listener, audited), and its earlier crash reports no longer count', async () => {
    const since = new Date(Date.now() - 60_000);
    const crash: HostEvent = { time: new Date().toISOString(), module: 'ledger', version: '1.1.0', kind: 'crashed', message: 'forged crash' };
    assert.equal((await post('edge-3', report('edge-3', { events: [crash] }))).status, 200);
    assert.match((await f.db.$transaction((tx) => reportedCrash(tx, 'ledger', '1.1.0', since))) ?? '', /edge-/, 'counted while the host was trusted');
    await post('edge-3', report('edge-3', { metrics: [sample('1.1.0', nowSecond() - 1, 100)] }));
    assert.equal(metrics.seriesOf('edge-3').size, 1);
    await revokeHost(f.db, f.actor, 'edge-2', metrics);
    await revokeHost(f.db, f.actor, 'edge-3', metrics);
    assert.equal(metrics.seriesOf('edge-3').size, 0, 'its seconds are gone from what charts, evidence and analysis read');
    const events = await f.db.hostEvent.count();
    const response = await post('edge-3', report('edge-3', { events: [crash] })).catch(() => null);
    if (response) {
      assert.equal(response.status, 401);
      assert.match(((await response.json()) as { message: string }).message, /^certificate [0-9A-F]+ of host "edge-3" is revoked/);
    }
    assert.equal(await f.db.hostEvent.count(), events, 'nothing of it was stored');
    // A request racing the cut may go out on the closing connection and fail; the host's next poll connects anew.
    const cut = await waitFor('the refused connection to be audited', async () => {
      await post('edge-3', report('edge-3', { events: [crash] })).catch(() => null);
      return f.db.auditEvent.findFirst({ where: { action: 'host.connection_refused', targetId: 'edge-3' } });
    });
    assert.equal(await f.db.hostEvent.count(), events, 'nothing of it was stored');
    assert.match(JSON.parse(cut.details).reason, /is revoked: enrol the host again/);
    assert.equal(await f.db.$transaction((tx) => reportedCrash(tx, 'ledger', '1.1.0', since)), null, 'its earlier crash reports no longer roll anything back');
    await assert.rejects(ingestHostReport(f.db, metrics, { id: 'edge-3', name: 'edge-3' }, report('edge-3', { events: [crash] })), /was revoked: its reports are refused/, 'refused inside the intake too');
  });

  it('attack: a report with 8,000 series is refused 422 naming the series cap, before anything is kept', async (t) => {
    const flood = Array.from({ length: 8_000 }, (_, i) => ({ ...sample(`9.${i}.0`, nowSecond() - 1, 1) }));
    const body = JSON.stringify(report('edge-4', { metrics: flood }));
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    const response = await post('edge-4', JSON.parse(body) as HostReport);
    const elapsedMs = performance.now() - started;
    assert.equal(response.status, 422);
    assert.match(((await response.json()) as { message: string }).message, /names 8000 module versions; a report may name at most 200 \(HOTPLANE_REPORT_MAX_SERIES\)/);
    assert.equal(metrics.seriesOf('edge-4').size, 0);
    assert.equal((await hostRow('edge-4')).lastSeenAt, null);
    t.diagnostic(`8,000-series report (${body.length} bytes) refused in ${elapsedMs.toFixed(0)} ms, heap +${((process.memoryUsage().heapUsed - heapBefore) / 1048576).toFixed(1)} MiB`);
  });

  it('attack: a host cannot grow past its own series cap one report at a time', async () => {
    const bounds: ReportBoundsConfig = { maxRequestsPerSecond: DEFAULT_RPS_CAP, clockSkewMs: 5_000, maxSeriesPerReport: 200, maxSeriesPerHost: 1, retiredGraceSeconds: 1_800 };
    const host = { id: 'edge-5', name: 'edge-5' };
    await ingestHostReport(f.db, metrics, host, report('edge-5', { metrics: [sample('1.0.0', nowSecond() - 1, 5)] }), new Date(), bounds);
    await assert.rejects(
      ingestHostReport(f.db, metrics, host, report('edge-5', { metrics: [sample('1.1.0', nowSecond() - 1, 5)] }), new Date(), bounds),
      (error: Error & { status?: number }) => error.status === 422 && /this host would have 2 module versions with metrics; a host may have at most 1 \(HOTPLANE_HOST_MAX_SERIES\)/.test(error.message),
    );
    assert.deepEqual([...metrics.seriesOf('edge-5')], ['ledger\u00001.0.0']);
  });

  it('attack: a report about a version the fleet was never told to run is left out: no status, no event, no metric', async () => {
    const foreign: Partial<HostReport> = {
      versions: [{ module: 'ledger', version: '6.6.6', sm3: 'c'.repeat(64), isolation: 'inproc', phase: 'crashed', weight: 100, healthy: false, load: {}, inFlight: 0, goRuntime: false, since: new Date().toISOString() }],
      events: [{ time: new Date().toISOString(), module: 'ledger', version: '6.6.6', kind: 'crashed', message: 'made up' }, { time: new Date().toISOString(), module: 'payments', kind: 'weights', message: 'x' }],
      metrics: [sample('6.6.6', nowSecond() - 1, 10, 10)],
    };
    const response = await post('edge-6', report('edge-6', foreign));
    assert.equal(response.status, 200);
    assert.deepEqual(((await response.json()) as { ignored: string[] }).ignored, ['ledger 6.6.6', 'payments (module)']);
    assert.equal(await f.db.hostEvent.count({ where: { hostId: 'edge-6' } }), 0);
    assert.equal((await hostRow('edge-6')).lastReport, '[]');
    assert.equal(metrics.seriesOf('edge-6').size, 0);
    const audited = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'host.report_items_ignored', targetId: 'edge-6' } });
    assert.deepEqual(JSON.parse(audited.details).versions, ['ledger 6.6.6', 'payments (module)']);
  });

  it('a version that left the desired state may still report while it drains, until the grace period ends', async () => {
    await setDesired({ module: 'ledger', versions: [{ ...ledger.versions[0], weight: 100 }] });
    const draining = report('edge-6', { events: [{ time: new Date().toISOString(), module: 'ledger', version: '1.1.0', kind: 'drained', message: 'in-flight calls done' }] });
    const response = await post('edge-6', draining);
    assert.deepEqual(((await response.json()) as { ignored: string[] }).ignored, []);
    const later = new Date(Date.now() + 1_801_000);
    const result = await ingestHostReport(f.db, metrics, { id: 'edge-6', name: 'edge-6' }, { ...draining, events: [{ ...draining.events[0], time: later.toISOString() }] }, later);
    assert.deepEqual(result.ignored, ['ledger 1.1.0'], 'after HOTPLANE_REPORT_RETIRED_GRACE_SECONDS it is left out');
    await setDesired(ledger);
    assert.equal(await f.db.retiredDesiredVersion.count(), 0, 'back in the desired state, it is no longer retired');
  });
});
