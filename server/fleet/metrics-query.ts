import { z } from 'zod';
import type { Db } from '../db/client';
import { combineTotals, errorPercent, METRIC_FIELDS, type MetricTotals } from './metric-math';
import { RING_SECONDS, type FleetMetrics } from './metrics-store';

// The live charts' data: seconds still in memory at 1 s resolution, and for any part of the window before
// this console process started, the stored 10-second rollups.

export const moduleMetricsInput = z.object({
  module: z.string().min(1),
  seconds: z.number().int().min(10).max(RING_SECONDS).default(300),
});

export interface MetricPoint {
  /** Start of the second (or of the 10-second rollup), epoch milliseconds. */
  t: number;
  rps: number;
  errorPercent: number | null;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export interface VersionMetrics {
  version: string;
  points: MetricPoint[];
}

export function pointOf(t: number, totals: MetricTotals, rps: number): MetricPoint {
  const ms = (micros: number) => Math.round(micros) / 1000;
  return { t, rps, errorPercent: errorPercent(totals), p50Ms: ms(totals.p50), p95Ms: ms(totals.p95), p99Ms: ms(totals.p99) };
}

async function rollupPoints(db: Db, module: string, from: number, until: number): Promise<Map<string, MetricPoint[]>> {
  const rows = await db.metricRollup.findMany({
    where: { module, start: { gte: new Date(from * 1000), lt: new Date(until * 1000) } },
    orderBy: { start: 'asc' },
  });
  const grouped = new Map<string, Map<number, { totals: MetricTotals; rps: number }>>();
  for (const row of rows) {
    let byStart = grouped.get(row.version);
    if (!byStart) grouped.set(row.version, (byStart = new Map()));
    const t = row.start.getTime();
    const totals = Object.fromEntries(METRIC_FIELDS.map((f) => [f, row[f]])) as MetricTotals;
    const rps = row.requests / Math.max(1, row.seconds);
    const before = byStart.get(t);
    byStart.set(t, before ? { totals: combineTotals(before.totals, totals), rps: before.rps + rps } : { totals, rps });
  }
  return new Map([...grouped].map(([version, byStart]) => [version, [...byStart].map(([t, v]) => pointOf(t, v.totals, v.rps))]));
}

export async function moduleMetrics(db: Db, store: FleetMetrics, input: z.infer<typeof moduleMetricsInput>, now = Date.now()) {
  const last = Math.floor(now / 1000) - 1;
  const from = last - input.seconds + 1;
  const points = from < store.memorySince ? await rollupPoints(db, input.module, from, store.memorySince) : new Map<string, MetricPoint[]>();
  for (const { version, seconds } of store.moduleSeconds(input.module, Math.max(from, store.memorySince), last)) {
    const list = points.get(version) ?? [];
    for (const { second, totals } of seconds) list.push(pointOf(second * 1000, totals, totals.requests));
    points.set(version, list);
  }
  const versions: VersionMetrics[] = [...points]
    .map(([version, list]) => ({ version, points: list }))
    .sort((a, b) => a.version.localeCompare(b.version, undefined, { numeric: true }));
  return { module: input.module, from: from * 1000, to: last * 1000, versions };
}
