import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db } from '../db/client';
import type { MetricSample } from '../protocol';
import { moduleMetrics } from './metrics-query';
import { FleetMetrics } from './metrics-store';

const NOW = Date.parse('2026-11-22T10:00:00.000Z');
const second = (offset: number) => Math.floor(NOW / 1000) + offset;

function sample(at: number, fields: Partial<MetricSample> = {}): MetricSample {
  return {
    module: 'ledger', version: '1.0.0', second: new Date(at * 1000).toISOString(),
    requests: 10, ok: 10, app4xx: 0, errors5xx: 0, timeouts: 0, crashes: 0, p50: 100, p95: 200, p99: 300, max: 400,
    ...fields,
  };
}

describe('fleet metrics in memory', () => {
  it('combines one second of one version over hosts: counts add, p50 weighs by requests, the tail takes the worst', () => {
    const store = new FleetMetrics(NOW - 60_000);
    store.record('a', [sample(second(-5), { requests: 30, p50: 100, p95: 200, errors5xx: 3, ok: 27 })], NOW);
    store.record('b', [sample(second(-5), { requests: 10, p50: 500, p95: 900, timeouts: 1, ok: 9 })], NOW);
    const [ledger] = store.moduleSeconds('ledger', second(-10), second(0));
    assert.equal(ledger.seconds.length, 1);
    const totals = ledger.seconds[0].totals;
    assert.deepEqual([totals.requests, totals.ok, totals.errors5xx, totals.timeouts], [40, 36, 3, 1]);
    assert.equal(totals.p50, 200);
    assert.equal(totals.p95, 900);
  });

  it('keeps an hour per series and serves the charts at 1 s resolution, one series per version', async () => {
    const store = new FleetMetrics(NOW - 3_600_000);
    store.record('a', [sample(second(-3)), sample(second(-2), { errors5xx: 5, ok: 5 }), sample(second(-2), { version: '1.1.0', requests: 4, ok: 4 })], NOW);
    store.record('a', [sample(second(-4000))], NOW);
    const chart = await moduleMetrics({} as Db, store, { module: 'ledger', seconds: 3600 }, NOW);
    assert.deepEqual(chart.versions.map((v) => [v.version, v.points.map((p) => [p.t / 1000 - second(0), p.rps, p.errorPercent])]), [
      ['1.0.0', [[-3, 10, 0], [-2, 10, 50]]],
      ['1.1.0', [[-2, 4, 0]]],
    ]);
    assert.equal(chart.versions[0].points[0].p95Ms, 0.2);
  });

  it('sums the last seconds for the dashboard rate', () => {
    const store = new FleetMetrics(NOW - 60_000);
    store.record('a', Array.from({ length: 20 }, (_, i) => sample(second(-1 - i))), NOW);
    assert.equal(store.recentTotals('ledger', 10, NOW).get('1.0.0')!.requests, 100);
  });

  it('closes a 10-second window only after a grace period, so a report that lags a second still lands in it', () => {
    const store = new FleetMetrics(NOW - 60_000);
    const start = second(-20) - (second(-20) % 10);
    store.record('a', [sample(start), sample(start + 9), sample(start + 10)], NOW);
    assert.deepEqual(store.takeClosedRollups((start + 14) * 1000), []);
    const closed = store.takeClosedRollups((start + 15) * 1000);
    assert.deepEqual(closed.map((r) => [r.start, r.seconds, r.totals.requests]), [[start, 2, 20]]);
    assert.deepEqual(store.takeClosedRollups((start + 25) * 1000).map((r) => r.start), [start + 10]);
  });
});
