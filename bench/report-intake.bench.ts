// Report intake alone (docs/fleet.md#report-intake), in one process on a private PostgreSQL cluster: console CPU per
// common report (statuses + metrics, no events) through the per-report transaction (ingestHostReport) and through
// the batched intake the fleet listener uses (acceptHostReport), without TLS and HTTP. HOSTS=… and REPORTS=… change
// the size.
import type { AuditActor } from '../server/audit/actor';
import { replaceDesiredModule } from '../server/fleet/desired-state';
import { registerHost } from '../server/fleet/hosts';
import { FleetMetrics } from '../server/fleet/metrics-store';
import { flushReportBatches } from '../server/fleet/report-batch';
import { acceptHostReport, ingestHostReport } from '../server/fleet/report-intake';
import type { HostReport } from '../server/protocol';
import { benchSize } from './support/goals';

const HOSTS = Number(process.env.HOSTS ?? benchSize(100, 5));
const REPORTS = Number(process.env.REPORTS ?? benchSize(2_000, 50));
/** Reports in flight at once. */
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 10);

process.env.HOTPLANE_TEST_DATABASE = 'postgresql';
const { createConsoleFixture } = await import('../server/testing/console-fixture');
const f = await createConsoleFixture();
const admin: AuditActor = { id: 'bench-admin', name: 'admin@bench', roles: ['admin'] };
const ids = Array.from({ length: HOSTS }, (_, i) => `intake-${i}`);
for (const name of ids) await registerHost(f.db, admin, { name, zone: 'default' });
const versions = [{ version: '1.0.0', sm3: 'a'.repeat(64), weight: 100, isolation: 'process' as const }];
await f.db.$transaction((tx) => replaceDesiredModule(tx, 'ledger', { module: 'ledger', versions }, 'bench'));
const generation = (await f.db.fleetGeneration.findUniqueOrThrow({ where: { id: 1 } })).generation;

function report(hostId: string): HostReport {
  const now = new Date();
  const second = new Date(Math.floor(now.getTime() / 1000 - 1) * 1000).toISOString();
  return {
    hostId, appliedGeneration: generation, startedAt: now.toISOString(), events: [],
    versions: [{ module: 'ledger', version: '1.0.0', sm3: 'a'.repeat(64), isolation: 'process', phase: 'serving', weight: 100, healthy: true, since: now.toISOString(), load: { totalMs: 1 }, inFlight: 0 }] as unknown as HostReport['versions'],
    metrics: [{ module: 'ledger', version: '1.0.0', second, requests: 100, ok: 100, app4xx: 0, errors5xx: 0, timeouts: 0, crashes: 0, p50: 900, p95: 1500, p99: 2000, max: 3000 }],
  };
}

async function measure(label: string, intake: (metrics: FleetMetrics, hostId: string) => Promise<unknown>) {
  const metrics = new FleetMetrics();
  for (const id of ids) await intake(metrics, id);
  await flushReportBatches();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let n = 0; n < REPORTS; n += CONCURRENCY) await Promise.all(ids.slice(n % HOSTS, (n % HOSTS) + CONCURRENCY).map((id) => intake(metrics, id)));
  await flushReportBatches();
  const used = process.cpuUsage(cpu);
  const ms = (used.user + used.system) / 1000 / REPORTS;
  console.log(`${label.padEnd(58)} ${ms.toFixed(2).padStart(6)} ms CPU/report   ${(REPORTS / ((performance.now() - started) / 1000)).toFixed(0).padStart(6)} reports/s`);
}

console.log(`\n== Report intake, ${HOSTS} hosts, ${REPORTS} reports, ${CONCURRENCY} at once, PostgreSQL, in process (no TLS, no HTTP) ==`);
await measure('per-report transaction (ingestHostReport)', (metrics, id) => ingestHostReport(f.db, metrics, { id, name: id }, report(id)));
await measure('batched, reading the host row itself', (metrics, id) => acceptHostReport(f.db, metrics, { id, name: id }, report(id)));
// The fleet listener hands over the row it read for the request (its revocation check): the intake reads nothing.
const seen = { lastSeenAt: null, createdAt: new Date(Date.now() - 60_000) };
await measure('batched, with the row the listener read (acceptHostReport)', (metrics, id) => acceptHostReport(f.db, metrics, { id, name: id }, report(id), seen));
process.exit(0);
