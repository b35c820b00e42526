import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// What each proof script hands to the report (proof/report.ts): its figures against their goals, its own section of
// the report, and its plots. Written to tmp/proof/<name>.json; `npm run proof` runs every proof, then the report.

export interface ProofFigure {
  name: string;
  value: number | string;
  unit?: string;
  /** The goal in words, as the issue states it ("≤ 3 s", "flat", "403 for every role without the right"). */
  goal?: string;
  /** Whether the goal is met; absent for figures that only inform. */
  met?: boolean;
}

export interface ProofPlot {
  /** File name under docs/report/, e.g. "faults-latency.svg". */
  file: string;
  svg: string;
  caption: string;
}

export interface ProofResult {
  /** The script's stem: proof/<name>.proof.ts. */
  name: string;
  title: string;
  short: boolean;
  startedAt: string;
  durationMs: number;
  figures: ProofFigure[];
  /** The report section's body (Markdown, no top heading): tables per case, what the system did. */
  markdown: string;
  plots: ProofPlot[];
  /** Things that broke (as opposed to goals missed): any makes `npm run proof` exit non-zero. */
  failures: string[];
}

export const PROOF_RESULTS_DIR = path.resolve('tmp', 'proof');

/** `--short` (or PROOF_SHORT=1): the bounded form CI runs, fewer cycles and shorter loads, same checks. */
export function isShortRun(argv = process.argv, env = process.env): boolean {
  return argv.includes('--short') || env.PROOF_SHORT === '1';
}

export function writeProofResult(result: ProofResult): string {
  mkdirSync(PROOF_RESULTS_DIR, { recursive: true });
  const file = path.join(PROOF_RESULTS_DIR, `${result.name}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** Starts a result; `finish` stamps the duration, writes it, prints the figures, and sets the exit code on failures. */
export function startProof(name: string, title: string) {
  const started = Date.now();
  const result: ProofResult = { name, title, short: isShortRun(), startedAt: new Date(started).toISOString(), durationMs: 0, figures: [], markdown: '', plots: [], failures: [] };
  return {
    result,
    figure(figure: ProofFigure) {
      result.figures.push(figure);
    },
    finish() {
      result.durationMs = Date.now() - started;
      writeProofResult(result);
      for (const f of result.figures) {
        const verdict = f.met === undefined ? '' : f.met ? '  MET' : '  MISSED';
        console.log(`${f.name}: ${f.value}${f.unit ? ` ${f.unit}` : ''}${f.goal ? `  (goal ${f.goal})` : ''}${verdict}`);
      }
      for (const failure of result.failures) console.error(`FAILED: ${failure}`);
      if (result.failures.length > 0) process.exitCode = 1;
    },
  };
}

/** p-th percentile (0–100) of unsorted values, nearest rank; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Least-squares slope of y over x (per unit of x); 0 for fewer than two points. */
export function slope(points: readonly (readonly [number, number])[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
}

/** A Markdown table from a header row and rows of cells. */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const line = (cells: ReadonlyArray<string | number>) => `| ${cells.map((c) => String(c).replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
