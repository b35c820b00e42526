import type { MetricSample } from '../protocol';

// How per-second samples combine, for 10-second rollups and across hosts alike (docs/fleet.md):
// counts add up; p50 is the request-weighted mean of the medians; p95, p99 and max take the worst second,
// so one bad second stays visible in a rollup instead of being averaged away.

export const METRIC_FIELDS = ['requests', 'ok', 'app4xx', 'errors5xx', 'timeouts', 'crashes', 'p50', 'p95', 'p99', 'max'] as const;
export type MetricField = (typeof METRIC_FIELDS)[number];
export type MetricTotals = Record<MetricField, number>;

export const EMPTY_TOTALS: Readonly<MetricTotals> = Object.freeze({
  requests: 0, ok: 0, app4xx: 0, errors5xx: 0, timeouts: 0, crashes: 0, p50: 0, p95: 0, p99: 0, max: 0,
});

export function totalsOf(sample: MetricSample): MetricTotals {
  const totals = { ...EMPTY_TOTALS };
  for (const field of METRIC_FIELDS) totals[field] = sample[field];
  return totals;
}

export function combineTotals(a: MetricTotals, b: MetricTotals): MetricTotals {
  const requests = a.requests + b.requests;
  return {
    requests,
    ok: a.ok + b.ok,
    app4xx: a.app4xx + b.app4xx,
    errors5xx: a.errors5xx + b.errors5xx,
    timeouts: a.timeouts + b.timeouts,
    crashes: a.crashes + b.crashes,
    p50: requests > 0 ? (a.p50 * a.requests + b.p50 * b.requests) / requests : Math.max(a.p50, b.p50),
    p95: Math.max(a.p95, b.p95),
    p99: Math.max(a.p99, b.p99),
    max: Math.max(a.max, b.max),
  };
}

/** Faults as a share of requests, in percent: 5xx answers (module faults, cell deaths) and timeouts; 4xx application answers are not faults. */
export function errorPercent(totals: MetricTotals): number | null {
  return totals.requests > 0 ? (100 * (totals.errors5xx + totals.timeouts)) / totals.requests : null;
}
