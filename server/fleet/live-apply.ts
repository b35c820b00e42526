import type { MetricsEvent } from './metrics-stream';
import type { VersionMetrics } from './metrics-query';
import type { RowsEvent } from './live-rows';

// What a browser does with each pushed event; plain functions so the unit tests replay a stream through them.

export interface MetricsChart {
  module: string;
  from: number;
  to: number;
  versions: VersionMetrics[];
}

/**
 * The chart after one event: a window replaces it; an append puts in its seconds (a second the chart has already is
 * replaced: a host reported it late) and drops those now out of the window.
 */
export function applyMetricsEvent(chart: MetricsChart | undefined, event: MetricsEvent, windowSeconds: number): MetricsChart | undefined {
  if (event.kind === 'window') return { module: event.module, from: event.from, to: event.to, versions: event.versions };
  if (!chart) return chart;
  const from = event.to - (windowSeconds - 1) * 1000;
  const byVersion = new Map(chart.versions.map((v) => [v.version, v.points.filter((p) => p.t >= from)]));
  for (const { version, points } of event.versions) {
    const bySecond = new Map((byVersion.get(version) ?? []).map((p) => [p.t, p]));
    for (const point of points) if (point.t >= from) bySecond.set(point.t, point);
    byVersion.set(version, [...bySecond.values()].sort((a, b) => a.t - b.t));
  }
  const versions = [...byVersion]
    .filter(([, points]) => points.length > 0)
    .map(([version, points]) => ({ version, points }))
    .sort((a, b) => a.version.localeCompare(b.version, undefined, { numeric: true }));
  return { module: chart.module, from, to: event.to, versions };
}

/** A client's table after one event. */
export function applyRowsEvent<Row, Meta>(
  state: { rows: Row[]; meta: Meta } | undefined,
  event: RowsEvent<Row, Meta>,
  keyOf: (row: Row) => string,
): { rows: Row[]; meta: Meta } | undefined {
  const byKey = new Map(event.reset || !state ? [] : state.rows.map((row) => [keyOf(row), row]));
  for (const key of event.removed) byKey.delete(key);
  for (const row of event.upserts) byKey.set(keyOf(row), row);
  const order = event.order ?? (state ? state.rows.map(keyOf) : [...byKey.keys()]);
  const meta = event.meta ?? state?.meta;
  if (meta === undefined) return state;
  return { rows: order.flatMap((key) => (byKey.has(key) ? [byKey.get(key)!] : [])), meta };
}
