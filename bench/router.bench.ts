// Hot-path benchmarks of the host: a router pick without and with a gray id, a metrics record, and an access
// log line, each against an empty function call measured in the same run through the same loop. Ratios, not
// nanoseconds, are what to compare across machines. (That a pick allocates nothing is a test, in router.test.ts.)
import { randomBytes } from 'node:crypto';
import { createAccessLog } from '../server/host/access-log';
import { VersionMetrics } from '../server/host/metrics';
import { WeightedRouter } from '../server/host/router';
import { benchSize, reportGoal } from './support/goals';

const ROUNDS = benchSize(7, 3);
const ITERATIONS = benchSize(2_000_000, 200_000);

// Every operation goes through this one call site, so each pays the same (not inlined) call as the baseline.
function nsPerOperation(operation: (i: number) => unknown, iterations = ITERATIONS): number {
  let best = Infinity;
  let sink = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) if (operation(i) === sink) sink++;
    best = Math.min(best, Number(process.hrtime.bigint() - started) / iterations);
  }
  if (sink === -1) console.log('unreachable');
  return best;
}

function line(label: string, ns: number, baseline: number) {
  console.log(`${label.padEnd(46)} ${`${ns.toFixed(1)} ns`.padStart(10)}   ${`${(ns / baseline).toFixed(1)}× baseline`.padStart(16)}`);
}

const twoVersions = new WeightedRouter();
twoVersions.setTargets([
  { key: '1.4.2', weight: 95, eligible: true },
  { key: '1.5.0', weight: 5, eligible: true },
]);
const fourVersions = new WeightedRouter();
fourVersions.setTargets([
  { key: '1.4.2', weight: 40, eligible: true },
  { key: '1.5.0', weight: 30, eligible: true },
  { key: '1.5.1', weight: 20, eligible: true },
  { key: '1.6.0-rc.1', weight: 10, eligible: true },
  { key: '1.3.9', weight: 0, eligible: true },
]);
// 22 characters, flat one-byte strings as node:http hands header values over (a template literal would make a
// cons string, slower to read).
const grayIds = Array.from({ length: 4096 }, () => Buffer.from(`u-${randomBytes(15).toString('base64url')}`).toString('latin1'));
const GRAY_MASK = grayIds.length - 1;
const latencies = Float64Array.from({ length: 4096 }, () => 50 + Math.random() * 5_000);
const metrics = new VersionMetrics('ledger', '1.4.2');
const devNull = createAccessLog({ destination: '/dev/null' });

const operations: [string, (i: number) => unknown, number?][] = [
  ['pick, no gray id, 2 versions (95/5)', () => twoVersions.pick()],
  ['pick, no gray id, 4 weighted versions', () => fourVersions.pick()],
  ['pick, gray id (22 chars), 2 versions', (i) => twoVersions.pick(grayIds[i & GRAY_MASK])],
  ['pick, gray id (22 chars), 4 weighted versions', (i) => fourVersions.pick(grayIds[i & GRAY_MASK])],
  ['metrics.record', (i) => metrics.record(i % 50 === 0 ? 'fault' : 'ok', latencies[i & GRAY_MASK])],
  ['access log line (pino to /dev/null)', (i) => devNull.request({ module: 'ledger', version: '1.4.2', status: 200, latencyUs: i, grayId: grayIds[i & GRAY_MASK] }), 200_000],
];
// Run everything once first so the harness's call site is megamorphic: otherwise V8 inlines the empty
// baseline function and the baseline measures an empty loop instead of a call.
for (const [, operation] of operations) nsPerOperation(operation, 1_000);
const baseline = nsPerOperation((i) => i);
console.log(`\n== Router and metrics hot path (best of ${ROUNDS} rounds; ratios against an empty function call) ==`);
line('empty function call (baseline)', baseline, baseline);
const measured = new Map<string, number>();
for (const [label, operation, iterations] of operations) {
  const ns = nsPerOperation(operation, iterations);
  measured.set(label, ns);
  line(label, ns, baseline);
}
const stickyPick = measured.get('pick, gray id (22 chars), 4 weighted versions')!;
reportGoal({
  figure: 'gray-id pick (22-char id, 4 versions)',
  measured: `${stickyPick.toFixed(1)} ns`,
  goal: '≤ 50 ns',
  met: stickyPick <= 50,
  baseline: `empty function call ${baseline.toFixed(1)} ns`,
});
await devNull.flush();
