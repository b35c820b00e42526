// Chart colours as CSS variables from app/globals.css: each has a light and a dark value (light-dark()), so lines,
// grid and labels stay readable in both themes. SVG presentation attributes resolve var() like any CSS value.
export const SERIES_COLORS = Array.from({ length: 8 }, (_, i) => `var(--series-${i + 1})`);

export const CHART_COLORS = {
  stable: 'var(--series-1)',
  canary: 'var(--series-2)',
  limit: 'var(--bad)',
  grid: 'var(--line)',
  axis: 'var(--muted)',
  step: 'var(--muted)',
  promote: 'var(--ok)',
  rollback: 'var(--bad)',
} as const;

export const AXIS_TICK = { fill: CHART_COLORS.axis, fontSize: 11 };

export const TOOLTIP_STYLE = { background: 'var(--panel)', border: '1px solid var(--line)', color: 'var(--ink)' };
