import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createDb, prepareDatabase } from '../db/client';
import { testDatabaseUrl } from '../testing/test-database';
import type { MetricSample } from '../protocol';
import { FleetMetrics } from '../fleet/metrics-store';
import { InProcessBus } from './bus';
import { MetricsShare } from './metrics-share';
import { waitFor } from '../testing/wait-for';

const nowSecond = () => Math.floor(Date.now() / 1000);

function sample(second: number, fields: Partial<MetricSample> = {}): MetricSample {
  return {
    module: 'ledger', version: '1.1.0', second: new Date(second * 1000).toISOString(),
    requests: 10, ok: 10, app4xx: 0, errors5xx: 0, timeouts: 0, crashes: 0, p50: 100, p95: 200, p99: 300, max: 400,
    ...fields,
  };
}

async function twoReplicas() {
  const url = testDatabaseUrl(path.join(mkdtempSync(path.join(os.tmpdir(), 'hotplane-share-')), 'hotplane.db'));
  await prepareDatabase(url);
  const bus = new InProcessBus('shared-process');
  const make = (replica: string) => {
    const db = createDb(url);
    const metrics = new FleetMetrics(Date.now() - 60_000);
    return { db, metrics, share: new MetricsShare({ db, metrics, replica, bus }) };
  };
  return [make('replica-a'), make('replica-b')] as const;
}

describe('per-second metrics shared between replicas', () => {
  it('the leader judges every host, whichever replica its reports reached; rollups are written once, by the replica that received them', async () => {
    const [a, b] = await twoReplicas();
    const t = nowSecond() - 2;
    a.metrics.record('host-1', [sample(t, { requests: 30, ok: 27, errors5xx: 3 })]);
    b.metrics.record('host-2', [sample(t, { requests: 10, ok: 10 }), sample(t - 1)]);
    assert.equal(await a.share.write(), 1);
    assert.equal(await b.share.write(), 2);
    assert.equal(await b.share.write(), 0, 'a second is written once');
    await Promise.all([a.share.read(), b.share.read()]);
    for (const replica of [a, b]) {
      const perHost = replica.metrics.moduleSecondsByHost('ledger', t - 5, t, ['host-1', 'host-2']);
      assert.deepEqual(perHost.get('host-1')?.[0].seconds.map((s) => [s.second - t, s.totals.requests, s.totals.errors5xx]), [[0, 30, 3]]);
      assert.deepEqual(perHost.get('host-2')?.[0].seconds.map((s) => [s.second - t, s.totals.requests]), [[-1, 10], [0, 10]]);
    }
    await b.share.read();
    assert.equal(a.metrics.moduleSeconds('ledger', t, t)[0].seconds[0].totals.requests, 40, 'reading again adds nothing');
    const later = Date.now() + 30_000;
    await a.metrics.flushRollups(a.db, later);
    await b.metrics.flushRollups(b.db, later);
    const rollups = await a.db.metricRollup.groupBy({ by: ['hostId'], _sum: { requests: true }, orderBy: { hostId: 'asc' } });
    assert.deepEqual(rollups.map((r) => [r.hostId, r._sum.requests]), [['host-1', 30], ['host-2', 20]], 'each second counted in exactly one rollup');
  });

  it('a new second reaches the other replica within about a second through the bus', async () => {
    const [a, b] = await twoReplicas();
    a.share.start();
    b.share.start();
    try {
      const t = nowSecond();
      a.metrics.record('host-1', [sample(t, { requests: 7, ok: 7 })]);
      const started = Date.now();
      await waitFor('replica B to see host-1', () => b.metrics.moduleSeconds('ledger', t, t).length > 0, { timeoutMs: 5_000, everyMs: 10 });
      assert.ok(Date.now() - started <= 2_500, `took ${Date.now() - started} ms`);
    } finally {
      await a.share.stop();
      await b.share.stop();
    }
  });

  it("attack: a revoked host's seconds are not read back into any replica from the shared table", async () => {
    const [a, b] = await twoReplicas();
    const t = nowSecond() - 1;
    a.metrics.record('host-x', [sample(t)]);
    await a.share.write();
    await b.share.forgetHost('host-x');
    await a.share.forgetHost('host-x');
    await Promise.all([a.share.read(), b.share.read()]);
    assert.equal(b.metrics.moduleSeconds('ledger', t - 5, t).length, 0);
    assert.equal(await a.db.metricSecond.count(), 0);
  });
});
