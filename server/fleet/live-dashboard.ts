import type { Db } from '../db/client';
import { combineTotals, EMPTY_TOTALS } from './metric-math';
import type { FleetMetrics } from './metrics-store';
import { settledSecond } from './metrics-stream';
import { fleetDashboard } from './runtime-views';
import type { RowsSnapshot } from './live-rows';

// The modules table and the on-call screen by push: one row per module with its tail latency and a minute of
// requests per second that ends at the last settled second (no false dip at the end).

const SPARKLINE_SECONDS = 60;
const LATENCY_WINDOW_SECONDS = 10;

type Dashboard = Awaited<ReturnType<typeof fleetDashboard>>;
export type LiveModuleRow = Dashboard['modules'][number] & { p95Ms: number | null; p99Ms: number | null };
export type LiveDashboardMeta = Pick<Dashboard, 'generation' | 'hostsOnline' | 'hostsInSync'>;

function settledSparkline(store: FleetMetrics, module: string, last: number): number[] {
  const first = last - SPARKLINE_SECONDS + 1;
  const counts = new Array<number>(SPARKLINE_SECONDS).fill(0);
  for (const { seconds } of store.moduleSeconds(module, first, last)) for (const { second, totals } of seconds) counts[second - first] += totals.requests;
  return counts;
}

/** The worst p95 and p99 of any second in the last ten settled ones, over every version and host. */
function tailLatency(store: FleetMetrics, module: string, last: number) {
  const all = store
    .moduleSeconds(module, last - LATENCY_WINDOW_SECONDS + 1, last)
    .flatMap((v) => v.seconds.map((s) => s.totals))
    .reduce(combineTotals, { ...EMPTY_TOTALS });
  if (all.requests === 0) return { p95Ms: null, p99Ms: null };
  return { p95Ms: all.p95 / 1000, p99Ms: all.p99 / 1000 };
}

export const moduleRowKey = (row: { module: string }) => row.module;

export async function liveDashboard(db: Db, store: FleetMetrics, now = Date.now()): Promise<RowsSnapshot<LiveModuleRow, LiveDashboardMeta>> {
  const { modules, ...meta } = await fleetDashboard(db, store, now);
  const last = settledSecond(now);
  return {
    meta,
    rows: modules.map((m) => ({ ...m, sparkline: settledSparkline(store, m.module, last), ...tailLatency(store, m.module, last) })),
  };
}
