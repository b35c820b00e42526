// One way for every bench to state a figure against its goal: a printed line now, and (under `npm run bench`) a row
// in the summary table the runner prints at the end, so the data-plane goals read side by side from one run.
import { appendFileSync } from 'node:fs';

export interface GoalRow {
  /** What is measured, in the words. */
  figure: string;
  /** The measured value, with its unit, e.g. "0.91×" or "+12.4 µs". */
  measured: string;
  /** The goal, e.g. "≥ 0.95×". */
  goal: string;
  met: boolean;
  /** The same-run baseline the figure is relative to, e.g. "bare node:http 41,200 req/s". */
  baseline?: string;
}

/** True under `npm run bench -- --smoke`: a short run that proves the bench still works, not its figures. */
export const benchSmoke = process.env.HOTPLANE_BENCH_SMOKE === '1';

/** Picks the full or the smoke-run size of a measurement. */
export function benchSize<T>(full: T, smoke: T): T {
  return benchSmoke ? smoke : full;
}

/** `alreadyPrinted`: the bench printed the figure in its own table; only the summary row is added. */
export function reportGoal(row: GoalRow, { alreadyPrinted = false } = {}): void {
  if (!alreadyPrinted) {
    const baseline = row.baseline ? `   (baseline: ${row.baseline})` : '';
    console.log(`GOAL ${row.figure}: ${row.measured}   goal ${row.goal}   ${row.met ? 'MET' : 'MISSED'}${baseline}`);
  }
  const summary = process.env.HOTPLANE_BENCH_GOALS;
  if (summary) appendFileSync(summary, `${JSON.stringify({ ...row, bench: process.env.HOTPLANE_BENCH_NAME ?? '' })}\n`);
}
