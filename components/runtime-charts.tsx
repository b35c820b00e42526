'use client';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { MetricPoint, VersionMetrics } from '@/server/fleet/metrics-query';

const VERSION_COLORS = ['#1f5fbf', '#c2410c', '#15803d', '#7c3aed', '#b45309', '#0e7490', '#be123c', '#4d7c0f'];
const PERCENTILE_DASH: Record<string, string | undefined> = { p50: undefined, p95: '6 3', p99: '2 3' };

type Row = { t: number } & Record<string, number | null>;

// recharts wants one row per time with a column per line.
function pivot(versions: VersionMetrics[], columns: Record<string, (p: MetricPoint) => number | null>): Row[] {
  const rows = new Map<number, Row>();
  for (const { version, points } of versions) {
    for (const point of points) {
      const row = rows.get(point.t) ?? { t: point.t };
      for (const [suffix, read] of Object.entries(columns)) row[suffix ? `${version} ${suffix}` : version] = read(point);
      rows.set(point.t, row);
    }
  }
  return [...rows.values()].sort((a, b) => a.t - b.t);
}

const time = (t: number) => new Date(t).toLocaleTimeString();

function Chart({ title, unit, rows, lines }: { title: string; unit: string; rows: Row[]; lines: { key: string; color: string; dash?: string }[] }) {
  return (
    <figure className="panel chart" aria-label={title}>
      <figcaption className="small">
        <strong>{title}</strong> <span className="muted">({unit})</span>
      </figcaption>
      <ResponsiveContainer width="100%" height={200}>
        <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#e5e9ef" />
          <XAxis dataKey="t" type="number" domain={['dataMin', 'dataMax']} tickFormatter={time} minTickGap={40} fontSize={11} />
          <YAxis fontSize={11} width={48} />
          <Tooltip labelFormatter={(t) => time(Number(t))} formatter={(value) => (typeof value === 'number' ? Number(value.toFixed(2)) : value)} />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          {lines.map((line) => (
            <Line key={line.key} dataKey={line.key} stroke={line.color} strokeDasharray={line.dash} dot={false} isAnimationActive={false} connectNulls />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}

/** Latency percentiles, request rate and error rate of one module, one line (or line style) per version. */
export function RuntimeCharts({ versions }: { versions: VersionMetrics[] }) {
  if (versions.every((v) => v.points.length === 0)) return <p className="muted">No traffic measured in this window.</p>;
  const color = (i: number) => VERSION_COLORS[i % VERSION_COLORS.length];
  const perVersion = versions.map((v, i) => ({ key: v.version, color: color(i) }));
  const latencyLines = versions.flatMap((v, i) => ['p50', 'p95', 'p99'].map((p) => ({ key: `${v.version} ${p}`, color: color(i), dash: PERCENTILE_DASH[p] })));
  return (
    <div className="charts">
      <Chart
        title="Latency p50 / p95 / p99"
        unit="ms"
        rows={pivot(versions, { p50: (p) => p.p50Ms, p95: (p) => p.p95Ms, p99: (p) => p.p99Ms })}
        lines={latencyLines}
      />
      <Chart title="Requests" unit="per second" rows={pivot(versions, { '': (p) => p.rps })} lines={perVersion} />
      <Chart title="Errors (5xx and timeouts)" unit="% of requests" rows={pivot(versions, { '': (p) => p.errorPercent })} lines={perVersion} />
    </div>
  );
}
