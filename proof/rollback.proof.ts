import { measureRollbackTimes } from '../bench/support/rollback-timing';
import { linePlot } from './support/svg-plot';
import { isShortRun, markdownTable, percentile, startProof } from './support/proof-result';

// Rollback times, auto and one-click, p50/p99 over at least 20 runs each (5 in the short form), measured with the
// same harness as bench/rollout.bench.ts: a real host, real modules, HTTP traffic, the engine's own loop.

const proof = startProof('rollback', 'Rollback times');
const runs = isShortRun() ? 5 : 20;
const ms = (v: number) => `${Math.round(v)} ms`;
// Smooth weighted round robin is exact per request for callers without a gray id; a 1 s window of ~240 such answers
// cuts the pick sequence at two arbitrary points, which moves the observed share by at most about one point.
const SPLIT_TOLERANCE_POINTS = 1;

try {
  const times = await measureRollbackTimes(runs, (run) => console.log(`rollback proof: run ${run}/${runs}`));
  const table = times.rows.map((row) => {
    const [p50, p99] = [percentile(row.samples, 50), percentile(row.samples, 99)];
    // p50 ≤ p99, so the row meets its goal when its p99 does.
    const met = row.goalMs === undefined ? undefined : p99 <= row.goalMs;
    if (row.goalMs !== undefined) {
      proof.figure({ name: `${row.metric} p50`, value: Math.round(p50), unit: 'ms', goal: row.goal, met: p50 <= row.goalMs });
      proof.figure({ name: `${row.metric} p99`, value: Math.round(p99), unit: 'ms', goal: row.goal, met });
    }
    return [row.metric.trim(), row.samples.length, ms(p50), ms(p99), ms(Math.max(...row.samples)), row.goal, met === undefined ? '—' : met ? 'met' : '**missed**'];
  });
  const splitErrors = times.canaryShares.map((share) => Math.abs(share - times.canaryWeight));
  const worstSplit = Math.max(...splitErrors);
  proof.figure({
    name: `weight split: canary share of answers at weight ${times.canaryWeight} %, worst run`,
    value: `${times.canaryShares[splitErrors.indexOf(worstSplit)]?.toFixed(1)} % (off by ${worstSplit.toFixed(1)} points)`,
    goal: `within ±${SPLIT_TOLERANCE_POINTS} point of the weight over a 1 s sample of requests without a gray id`,
    met: worstSplit <= SPLIT_TOLERANCE_POINTS,
  });
  proof.figure({ name: 'drain time of a canary sent back by one click, p50', value: Math.round(percentile(times.drainMs, 50)), unit: 'ms' });
  proof.figure({ name: 'drain time of a canary sent back by one click, p99', value: Math.round(percentile(times.drainMs, 99)), unit: 'ms' });
  proof.figure({ name: 'canaries sent back by one click that were still busy at the drain deadline', value: times.drainTimeouts, goal: '0 (every drain within the 30 s deadline)', met: times.drainTimeouts === 0 });
  proof.figure({ name: '5xx answers during one-click rollbacks of a healthy canary', value: times.failedAnswers.length, goal: '0', met: times.failedAnswers.length === 0 });
  proof.figure({ name: 'requests with no HTTP answer during all rollback runs', value: times.socketErrors, goal: '0', met: times.socketErrors === 0 });
  proof.result.markdown = [
    `Setup: ${times.setup}. "Host on stable" is the host's own status: the stable serving at 100 % and every other version at weight 0. The goal for a crash is "at once"; 1 s is the figure it is held to here.`,
    '',
    markdownTable(['metric', 'runs', 'p50', 'p99', 'max', 'goal', 'verdict'], table),
    '',
    times.failedAnswers.length ? `5xx answers during one-click runs: ${[...new Set(times.failedAnswers)].join('; ')}.` : 'No 5xx answer during the one-click runs.',
    '',
    `Weight split: over one second of each one-click run's hold, the canary (weight ${times.canaryWeight} %) answered ` +
      `${times.canaryShares.map((share) => `${share.toFixed(1)} %`).join(', ')} of the requests without a gray id (sticky ids follow their hash, not the weights). Drain times of those canaries once they had no weight: ` +
      `p50 ${ms(percentile(times.drainMs, 50))}, p99 ${ms(percentile(times.drainMs, 99))}, max ${ms(Math.max(...times.drainMs))}; still busy at the drain deadline: ${times.drainTimeouts}.`,
  ].join('\n');
  const series = times.rows.filter((row) => row.goalMs !== undefined);
  proof.result.plots.push({
    file: 'rollback-times.svg',
    caption: 'Time to all traffic on the stable, per run: error-prone canary (analysis decides), crashing canary, one click',
    svg: linePlot({ title: 'Fault onset / click → host serves only the stable', xLabel: 'run', yLabel: 'ms', series: series.map((row) => ({ name: row.metric.split(':')[0], points: row.samples.map((v, i) => [i + 1, v] as const) })) }),
  });
} catch (error) {
  proof.result.failures.push(`rollback runs broke: ${error instanceof Error ? error.message : String(error)}`);
}
proof.finish();
