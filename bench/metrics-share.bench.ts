// What sharing per-second metrics between replicas costs (server/cluster/metrics-share.ts): one replica writes the
// seconds its hosts reported as one multi-row insert per second, another reads them into memory. Batches of 20,
// 200 and 1000 rows (hosts × versions reporting to that replica), on SQLite and on a private PostgreSQL cluster.
// Printed, not asserted; the figures are in docs/fleet.md#replicas.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MetricsShare } from '../server/cluster/metrics-share';
import { createDb, prepareDatabase } from '../server/db/client';
import { FleetMetrics } from '../server/fleet/metrics-store';
import { startPostgresCluster } from '../server/testing/postgres';
import { benchSize } from './support/goals';

const BATCHES = benchSize(20, 2);
const SIZES = benchSize([20, 200, 1_000], [20]);

async function measure(dialect: string, url: string) {
  await prepareDatabase(url);
  const writerMetrics = new FleetMetrics(Date.now() - 60_000);
  const readerMetrics = new FleetMetrics(Date.now() - 60_000);
  const writer = new MetricsShare({ db: createDb(url), metrics: writerMetrics, replica: 'writer' });
  const reader = new MetricsShare({ db: createDb(url), metrics: readerMetrics, replica: 'reader' });
  for (const rows of SIZES) {
    const writeMs: number[] = [];
    const readMs: number[] = [];
    for (let batch = 0; batch < BATCHES; batch++) {
      const second = new Date((Math.floor(Date.now() / 1000) - 1) * 1000).toISOString();
      for (let i = 0; i < rows; i++) {
        writerMetrics.record(`host-${Math.floor(i / 2)}`, [
          { module: 'ledger', version: i % 2 ? '1.1.0' : '1.0.0', second, requests: 300, ok: 299, app4xx: 1, errors5xx: 0, timeouts: 0, crashes: 0, p50: 80, p95: 200, p99: 400, max: 900 },
        ]);
      }
      let started = performance.now();
      await writer.write();
      writeMs.push(performance.now() - started);
      started = performance.now();
      await reader.read();
      readMs.push(performance.now() - started);
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
    console.log(`${dialect.padEnd(10)} ${String(rows).padStart(5)} rows/batch: write ${median(writeMs).toFixed(1)} ms, read ${median(readMs).toFixed(1)} ms (median of ${BATCHES}); ${Math.round((rows / median(writeMs)) * 1000)} rows/s written`);
  }
}

await measure('SQLite', `file:${path.join(mkdtempSync(path.join(os.tmpdir(), 'hotplane-bench-')), 'hotplane.db')}`);
const cluster = await startPostgresCluster();
try {
  await measure('PostgreSQL', cluster.createDatabase('bench'));
} finally {
  cluster.destroy();
}
process.exit(0);
