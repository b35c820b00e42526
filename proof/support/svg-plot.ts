// Static SVG line plots for docs/REPORT.md. Hand-written because the charting library the console uses (recharts)
// renders through a browser DOM, and a report generator in Node needs only lines, axes and labels.

export interface PlotSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  color?: string;
}

export interface PlotMarker {
  x: number;
  label: string;
}

export interface LinePlot {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly PlotSeries[];
  markers?: readonly PlotMarker[];
  width?: number;
  height?: number;
  /** Log scale on y (for latencies spanning orders of magnitude). */
  logY?: boolean;
}

const PALETTE = ['#1f5fbf', '#c2410c', '#15803d', '#7c3aed', '#b45309', '#0e7490', '#be123c', '#4d7c0f'];
const PAD = { left: 64, right: 16, top: 46, bottom: 46 };

const escape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
const tidy = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(1) : n.toPrecision(2));

function ticks(min: number, max: number, count: number): number[] {
  if (max === min) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

export function linePlot(plot: LinePlot): string {
  const width = plot.width ?? 760;
  const height = plot.height ?? 300;
  const all = plot.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!plot.logY || y > 0));
  const xs = [...all.map(([x]) => x), ...(plot.markers ?? []).map((m) => m.x)];
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const fy = (y: number) => (plot.logY ? Math.log10(y) : y);
  const ys = all.map(([, y]) => fy(y));
  const yMin = plot.logY ? Math.floor(Math.min(...ys, 0)) : Math.min(0, ...ys);
  const yMax = ys.length ? Math.max(...ys) * (plot.logY ? 1 : 1.05) || 1 : 1;
  const innerW = width - PAD.left - PAD.right;
  const innerH = height - PAD.top - PAD.bottom;
  const sx = (x: number) => PAD.left + ((x - xMin) / (xMax - xMin || 1)) * innerW;
  const sy = (y: number) => PAD.top + innerH - ((fy(y) - yMin) / (yMax - yMin || 1)) * innerH;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${PAD.left}" y="18" font-size="13" font-weight="bold">${escape(plot.title)}</text>`,
  ];
  const yTicks = plot.logY ? Array.from({ length: Math.ceil(yMax) - yMin + 1 }, (_, i) => 10 ** (yMin + i)) : ticks(yMin, yMax, 5);
  for (const t of yTicks) {
    const y = sy(t);
    parts.push(`<line x1="${PAD.left}" x2="${width - PAD.right}" y1="${y}" y2="${y}" stroke="#e5e9ef"/>`, `<text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end">${tidy(t)}</text>`);
  }
  for (const t of ticks(xMin, xMax, 8)) {
    const x = sx(t);
    parts.push(`<line x1="${x}" x2="${x}" y1="${PAD.top + innerH}" y2="${PAD.top + innerH + 4}" stroke="#555"/>`, `<text x="${x}" y="${PAD.top + innerH + 16}" text-anchor="middle">${tidy(t)}</text>`);
  }
  parts.push(
    `<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + innerH}" stroke="#555"/>`,
    `<line x1="${PAD.left}" x2="${width - PAD.right}" y1="${PAD.top + innerH}" y2="${PAD.top + innerH}" stroke="#555"/>`,
    `<text x="${PAD.left + innerW / 2}" y="${height - 8}" text-anchor="middle">${escape(plot.xLabel)}</text>`,
    `<text transform="translate(14 ${PAD.top + innerH / 2}) rotate(-90)" text-anchor="middle">${escape(plot.yLabel)}${plot.logY ? ' (log)' : ''}</text>`,
  );
  for (const m of plot.markers ?? []) {
    const x = sx(m.x);
    parts.push(`<line x1="${x}" x2="${x}" y1="${PAD.top}" y2="${PAD.top + innerH}" stroke="#b42318" stroke-dasharray="3 3"/>`, `<text x="${x + 3}" y="${PAD.top + 10}" fill="#b42318">${escape(m.label)}</text>`);
  }
  plot.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const points = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!plot.logY || y > 0));
    if (points.length > 0) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`);
    const lx = PAD.left + 8 + i * 150;
    parts.push(`<rect x="${lx}" y="${PAD.top - 12}" width="10" height="3" fill="${color}"/>`, `<text x="${lx + 14}" y="${PAD.top - 8}">${escape(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
