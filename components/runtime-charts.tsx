'use client';
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { MetricPoint, VersionMetrics } from '@/server/fleet/metrics-query';
import { AXIS_TICK, CHART_COLORS, SERIES_COLORS, TOOLTIP_STYLE } from './chart-colors';
import { formatClock } from './time';

const PERCENTILE_DASH: Record<string, string | undefined> = { p50: undefined, p95: '6 3', p99: '2 3' };

type Row = { t: number } & Record<string, number | null>;

/** A canary weight change: a step starting, a promotion or a rollback. */
export interface RolloutMarker {
  t: number;
  kind: 'step' | 'promote' | 'rollback';
  weight: number;
  canary: string;
  label: string;
}

const MARKER_COLOR: Record<RolloutMarker['kind'], string> = { step: CHART_COLORS.step, promote: CHART_COLORS.promote, rollback: CHART_COLORS.rollback };

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

const time = (t: number) => formatClock(t);

function Chart({
  title,
  unit,
  rows,
  lines,
  markers,
  step,
  domain = ['dataMin', 'dataMax'],
}: {
  title: string;
  unit: string;
  rows: Row[];
  lines: { key: string; color: string; dash?: string }[];
  markers: RolloutMarker[];
  step?: boolean;
  domain?: [number | string, number | string];
}) {
  return (
    <figure className="panel chart" aria-label={title}>
      <figcaption className="small">
        <strong>{title}</strong> <span className="muted">({unit})</span>
      </figcaption>
      {/* Drawn at a guessed width in the server's HTML and at first render, resized once measured: otherwise nothing
          is drawn until after hydration has measured the container. */}
      <ResponsiveContainer width="100%" height={200} initialDimension={{ width: 480, height: 200 }}>
        <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid stroke={CHART_COLORS.grid} />
          <XAxis dataKey="t" type="number" domain={domain} tickFormatter={time} minTickGap={40} tick={AXIS_TICK} stroke={CHART_COLORS.axis} />
          <YAxis tick={AXIS_TICK} stroke={CHART_COLORS.axis} width={48} />
          <Tooltip contentStyle={TOOLTIP_STYLE} labelFormatter={(t) => time(Number(t))} formatter={(value) => (typeof value === 'number' ? Number(value.toFixed(2)) : value)} />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          {lines.map((line) => (
            <Line key={line.key} type={step ? 'stepAfter' : 'linear'} dataKey={line.key} stroke={line.color} strokeDasharray={line.dash} dot={false} isAnimationActive={false} connectNulls />
          ))}
          {markers.map((m) => (
            <ReferenceLine
              key={`${m.t}-${m.label}`}
              x={m.t}
              stroke={MARKER_COLOR[m.kind]}
              strokeDasharray={m.kind === 'step' ? '3 3' : undefined}
              ifOverflow="extendDomain"
              label={m.kind === 'step' ? undefined : { value: m.kind === 'promote' ? 'promoted' : 'rolled back', position: 'insideTopRight', fontSize: 10, fill: MARKER_COLOR[m.kind] }}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}

/** Canary weight as a step line from the markers, held flat to the end of the window. */
function weightRows(markers: RolloutMarker[], to: number): Row[] {
  if (markers.length === 0) return [];
  return [...markers.map((m) => ({ t: m.t, 'canary weight': m.weight })), { t: to, 'canary weight': markers.at(-1)!.weight }];
}

/**
 * Latency percentiles, request rate and error rate of one module, one line (or line style) per version, and the
 * canary's weight; every step start, promotion and rollback is a vertical marker on each chart.
 */
export function RuntimeCharts({ versions, markers, window }: { versions: VersionMetrics[]; markers: RolloutMarker[]; window: { from: number; to: number } }) {
  if (versions.every((v) => v.points.length === 0)) return <p className="muted">No traffic measured in this window.</p>;
  const color = (i: number) => SERIES_COLORS[i % SERIES_COLORS.length];
  const perVersion = versions.map((v, i) => ({ key: v.version, color: color(i) }));
  const latencyLines = versions.flatMap((v, i) => ['p50', 'p95', 'p99'].map((p) => ({ key: `${v.version} ${p}`, color: color(i), dash: PERCENTILE_DASH[p] })));
  return (
    <div className="charts">
      <Chart
        title="Latency p50 / p95 / p99"
        unit="ms"
        rows={pivot(versions, { p50: (p) => p.p50Ms, p95: (p) => p.p95Ms, p99: (p) => p.p99Ms })}
        lines={latencyLines}
        markers={markers}
      />
      <Chart title="Requests" unit="per second" rows={pivot(versions, { '': (p) => p.rps })} lines={perVersion} markers={markers} />
      <Chart title="Errors (5xx and timeouts)" unit="% of requests" rows={pivot(versions, { '': (p) => p.errorPercent })} lines={perVersion} markers={markers} />
      {markers.length > 0 && (
        <Chart
          title="Canary weight"
          unit="%"
          rows={weightRows(markers, window.to)}
          lines={[{ key: 'canary weight', color: CHART_COLORS.canary }]}
          markers={markers}
          step
          domain={[window.from, window.to]}
        />
      )}
    </div>
  );
}
