// Rollout benchmarks: fault onset (or the one click) to a real host serving only the stable version, over at least
// 20 runs each (bench/support/rollback-timing.ts). Printed, not asserted; the exit code is non-zero only when a run
// goes wrong (a rollout ends for another reason, or never ends).
import { percentile } from '../proof/support/proof-result';
import { benchSize, reportGoal } from './support/goals';
import { measureRollbackTimes, type TimingRow } from './support/rollback-timing';

const RUNS = Number(process.env.BENCH_RUNS ?? benchSize(20, 1));

function printTable(rows: TimingRow[]) {
  const ms = (v: number) => `${Math.round(v)} ms`.padStart(9);
  console.log(`\n${'metric'.padEnd(66)} ${'runs'.padStart(4)} ${'p50'.padStart(9)} ${'p99'.padStart(9)} ${'max'.padStart(9)}   goal`);
  const misses: string[] = [];
  for (const { metric, samples, goalMs, goal } of rows) {
    const [p50, p99, max] = [percentile(samples, 50), percentile(samples, 99), Math.max(...samples)];
    // p50 ≤ p99, so a row meets its goal when its p99 does.
    const met = goalMs === undefined ? undefined : p99 <= goalMs;
    if (met === false) misses.push(metric.trim());
    if (met !== undefined) reportGoal({ figure: metric.trim(), measured: `p99 ${Math.round(p99)} ms`, goal, met }, { alreadyPrinted: true });
    console.log(`${metric.padEnd(66)} ${String(samples.length).padStart(4)} ${ms(p50)} ${ms(p99)} ${ms(max)}   ${goal}${met === undefined ? '' : met ? '  MET' : '  MISSED'}`);
  }
  console.log(misses.length ? `\nMISSED: ${misses.join('; ')}` : '\nEvery goal met in this run.');
}

try {
  const times = await measureRollbackTimes(RUNS, (run) => process.stdout.write(`\rrun ${run}/${RUNS}`));
  console.log(`\n== ${times.setup} ==`);
  printTable(times.rows);
  const failed = times.failedAnswers;
  console.log(`5xx answers during one-click runs (healthy canary): ${failed.length}${failed.length ? ` (${[...new Set(failed)].join('; ')})` : ''}; requests with no HTTP answer at all: ${times.socketErrors}`);
  console.log(`weight split at ${times.canaryWeight} %, canary share of requests without a gray id per run: ${times.canaryShares.map((v) => v.toFixed(1)).join(' ')}; drain p50 ${Math.round(percentile(times.drainMs, 50))} ms, max ${Math.round(Math.max(...times.drainMs))} ms, past the deadline ${times.drainTimeouts}`);
  console.log('compare: bench/host.bench.ts times the host alone applying a rollback; the rest is the host sync and the engine cadence');
} catch (error) {
  console.error(`\nrollout bench broken: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
