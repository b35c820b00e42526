import { percentile } from './proof-result';
import type { RequestRecord } from './load-worker';
import { linePlot, type PlotMarker } from './svg-plot';

// What one fault did to the traffic: requests sent and failed by kind, latency before / during / after, and how
// long from the fault's onset until the last request it touched was answered.

/** A fault run: its onset (epoch ms), when the proof stopped watching it, and which requests it touched. */
export interface FaultSpan {
  onset: number;
  end: number;
  /** The baseline before onset that counts as "before". */
  beforeMs: number;
  /** A request the fault touched: failed, or served by the faulty version. Defaults to "did not succeed". */
  touched?: (r: RequestRecord) => boolean;
}

export interface Latency {
  count: number;
  p50: number;
  p99: number;
  p999: number;
}

export interface FaultTraffic {
  sent: number;
  failed: number;
  /** Failed requests by kind (HTTP status or socket error), most frequent first. */
  failures: [string, number][];
  before: Latency;
  during: Latency;
  after: Latency;
  /** Onset → the end of the last request the fault touched; 0 when it touched none. */
  recoveryMs: number;
}

export const succeeded = (r: RequestRecord) => r.kind === '200' || r.kind === '422';
const answeredAt = (r: RequestRecord) => r.at + r.ms;

function latency(records: readonly RequestRecord[]): Latency {
  const ms = records.filter((r) => /^\d+$/.test(r.kind)).map((r) => r.ms);
  return { count: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), p999: percentile(ms, 99.9) };
}

export function faultTraffic(records: readonly RequestRecord[], span: FaultSpan): FaultTraffic {
  const touched = span.touched ?? ((r: RequestRecord) => !succeeded(r));
  const window = records.filter((r) => r.at >= span.onset && r.at < span.end);
  const hit = window.filter(touched);
  const recoveredAt = hit.length > 0 ? Math.max(...hit.map(answeredAt)) : span.onset;
  const failures = new Map<string, number>();
  for (const r of window) if (!succeeded(r)) failures.set(r.kind, (failures.get(r.kind) ?? 0) + 1);
  return {
    sent: window.length,
    failed: window.filter((r) => !succeeded(r)).length,
    failures: [...failures].sort((a, b) => b[1] - a[1]),
    before: latency(records.filter((r) => r.at >= span.onset - span.beforeMs && r.at < span.onset)),
    during: latency(window.filter((r) => r.at <= recoveredAt)),
    after: latency(window.filter((r) => r.at > recoveredAt)),
    recoveryMs: recoveredAt - span.onset,
  };
}

const ms = (v: number) => (Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
export const formatLatency = (l: Latency) => (l.count === 0 ? '—' : `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.p999)}`);
export const formatFailures = (t: FaultTraffic) => (t.failed === 0 ? '0' : `${t.failed}: ${t.failures.map(([kind, n]) => `${n}× ${kind}`).join(', ')}`);

const BUCKET_MS = 500;

// Requests by the half second they were sent in, as seconds since `start`.
function buckets(records: readonly RequestRecord[], start: number): [number, RequestRecord[]][] {
  const byKey = new Map<number, RequestRecord[]>();
  for (const r of records) {
    const key = Math.floor((r.at - start) / BUCKET_MS);
    (byKey.get(key) ?? byKey.set(key, []).get(key)!).push(r);
  }
  return [...byKey].sort((a, b) => a[0] - b[0]).map(([key, rs]) => [(key * BUCKET_MS) / 1000, rs]);
}

/** p50 and p99 latency (ms, log scale) of what the load sent, per half second; markers at the fault onsets. */
export function latencyPlot(records: readonly RequestRecord[], start: number, markers: PlotMarker[]): string {
  const series = buckets(records, start).map(([x, rs]) => [x, rs.filter((r) => /^\d+$/.test(r.kind)).map((r) => r.ms)] as const);
  return linePlot({
    title: 'Invoke latency across the fault runs (requests sent per half second; dashed: fault onsets)',
    xLabel: 'seconds since the load started',
    yLabel: 'latency ms',
    logY: true,
    width: 980,
    height: 340,
    markers,
    series: [
      { name: 'p50', points: series.map(([x, ms]) => [x, percentile(ms, 50)] as const) },
      { name: 'p99', points: series.map(([x, ms]) => [x, percentile(ms, 99)] as const) },
    ],
  });
}

/** Failed requests per second, per half second sent; markers at the fault onsets. */
export function failurePlot(records: readonly RequestRecord[], start: number, markers: PlotMarker[]): string {
  return linePlot({
    title: 'Failed requests across the fault runs (any status but 200/422, socket errors, client timeouts)',
    xLabel: 'seconds since the load started',
    yLabel: 'failed requests per s',
    width: 980,
    height: 260,
    markers,
    series: [{ name: 'failed per s', color: '#b42318', points: buckets(records, start).map(([x, rs]) => [x, (rs.filter((r) => !succeeded(r)).length * 1000) / BUCKET_MS] as const) }],
  });
}
