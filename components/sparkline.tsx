'use client';
import { Line, LineChart, YAxis } from 'recharts';
import { CHART_COLORS } from './chart-colors';

/** A minute of requests per second, small enough for a table cell; it ends at the last settled second (server/fleet/live-dashboard.ts), so no false dip. */
export function Sparkline({ values, label }: { values: number[]; label: string }) {
  return (
    <span role="img" aria-label={label}>
      <LineChart width={120} height={28} data={values.map((v, i) => ({ i, v }))} margin={{ top: 2, right: 2, bottom: 2, left: 2 }}>
        <YAxis hide domain={[0, 'dataMax']} />
        <Line dataKey="v" stroke={CHART_COLORS.stable} dot={false} strokeWidth={1.5} isAnimationActive={false} />
      </LineChart>
    </span>
  );
}
