'use client';
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { AXIS_TICK, CHART_COLORS, TOOLTIP_STYLE } from './chart-colors';
import { formatClock } from './time';

/** One moment of one metric: the canary's value, the stable's, and the limit derived from the stable when there is one. */
export interface CanaryStablePoint {
  t: number;
  canary: number | null;
  stable: number | null;
  limitVsStable?: number | null;
}

const { canary: CANARY, stable: STABLE, limit: LIMIT } = CHART_COLORS;
const time = (t: number) => formatClock(t);

/** Drawn only near the data: a limit far above it would flatten every line to the floor. The caption always names it. */
const LIMIT_IN_VIEW = 3;

function MetricChart({ title, unit, points, limit }: { title: string; unit: string; points: CanaryStablePoint[]; limit: number | null }) {
  const relative = points.some((p) => p.limitVsStable !== undefined && p.limitVsStable !== null);
  const highest = Math.max(0, ...points.flatMap((p) => [p.canary ?? 0, p.stable ?? 0, p.limitVsStable ?? 0]));
  const limitInView = limit !== null && (highest === 0 || limit <= highest * LIMIT_IN_VIEW);
  return (
    <figure className="panel chart" aria-label={title} data-points={points.length}>
      <figcaption className="small">
        <strong>{title}</strong> <span className="muted">
          ({unit}; limit {limit ?? '—'} {unit}
          {limit !== null && !limitInView && ', above the chart'})
        </span>
      </figcaption>
      {points.length === 0 ? (
        <p className="muted small" style={{ height: 150, margin: 0 }}>
          No judgement yet.
        </p>
      ) : (
        <ResponsiveContainer width="100%" height={150}>
          <LineChart data={points} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
            <CartesianGrid stroke={CHART_COLORS.grid} />
            <XAxis dataKey="t" type="number" domain={['dataMin', 'dataMax']} tickFormatter={time} minTickGap={40} tick={AXIS_TICK} stroke={CHART_COLORS.axis} />
            <YAxis tick={AXIS_TICK} stroke={CHART_COLORS.axis} width={44} />
            <Tooltip contentStyle={TOOLTIP_STYLE} labelFormatter={(t) => time(Number(t))} formatter={(value) => (typeof value === 'number' ? Number(value.toFixed(2)) : value)} />
            <Legend wrapperStyle={{ fontSize: 11 }} />
            <Line type="linear" dataKey="canary" name="canary" stroke={CANARY} dot={false} isAnimationActive={false} connectNulls />
            <Line type="linear" dataKey="stable" name="stable" stroke={STABLE} dot={false} isAnimationActive={false} connectNulls />
            {relative && <Line type="stepAfter" dataKey="limitVsStable" name="limit vs stable" stroke={LIMIT} strokeDasharray="2 3" dot={false} isAnimationActive={false} connectNulls />}
            {limitInView && (
              <ReferenceLine y={limit} stroke={LIMIT} strokeDasharray="6 3" ifOverflow="extendDomain" label={{ value: `limit ${limit} ${unit}`, position: 'insideTopRight', fontSize: 10, fill: LIMIT }} />
            )}
          </LineChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}

/**
 * Canary against stable, error rate and p95 side by side, the limits drawn as lines. Presentational: the request page
 * feeds it the judgements it receives by push; a metrics stream can feed it the same shape.
 */
export function CanaryVsStableCharts({ errorRate, p95, limits }: { errorRate: CanaryStablePoint[]; p95: CanaryStablePoint[]; limits: { errorPercent: number | null; p95Ms: number | null } }) {
  return (
    <div className="charts canary-vs-stable">
      <MetricChart title="Error rate: canary vs stable" unit="%" points={errorRate} limit={limits.errorPercent} />
      <MetricChart title="p95 latency: canary vs stable" unit="ms" points={p95} limit={limits.p95Ms} />
    </div>
  );
}
