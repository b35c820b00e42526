// Hot-path benchmarks of the host: a router pick without and with a gray id, a metrics record, and an access
// log line, each against an empty function call measured in the same run through the same loop. Ratios, not
// nanoseconds, are what to compare across machines. (That a pick allocates nothing is a test, in router.test.ts.)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

const operations: [string, (i: number) => unknown, number?][] = [
  ['pick, no gray id, 2 versions (95/5)', () => twoVersions.pick()],
  ['pick, no gray id, 4 weighted versions', () => fourVersions.pick()],
  ['pick, gray id (22 chars), 2 versions', (i) => twoVersions.pick(grayIds[i & GRAY_MASK])],
  ['pick, gray id (22 chars), 4 weighted versions', (i) => fourVersions.pick(grayIds[i & GRAY_MASK])],
  ['metrics.record', (i) => metrics.record(i % 50 === 0 ? 'fault' : 'ok', latencies[i & GRAY_MASK])],
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

// The access log's whole cost per line: recording, the batch formatting, and the write to a real (rotated) file,
// from the first line until flush() says all are on disk, as CPU time of every thread of this process (the write
// runs on libuv's pool). Every 1,024 lines the loop yields to the event loop, as a server does between requests,
// so writes complete; the baseline pays the same yields. The lines come far faster than any server makes them,
// so the pending-bytes cap is raised here to keep every line (a dropped line would flatter the figure).
const LOG_LINES = benchSize(500_000, 50_000);
const logDir = mkdtempSync(path.join(tmpdir(), 'hotplane-access-bench-'));
async function costPerLine(log: ((i: number) => void) | null): Promise<{ cpuNs: number; wallNs: number }> {
  let cpuNs = Infinity;
  let wallNs = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const accessLog = createAccessLog({ destination: path.join(logDir, 'access.log'), maxPendingBytes: 1 << 30 });
    const record = log ?? ((i: number) => accessLog.record('ledger', '1.4.2', 200, 40 + (i & 255), grayIds[i & GRAY_MASK], null, null));
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let i = 0; i < LOG_LINES; i++) {
      record(i);
      if ((i & 1023) === 1023) await new Promise(setImmediate);
    }
    await accessLog.flush();
    const used = process.cpuUsage(cpu);
    wallNs = Math.min(wallNs, Number(process.hrtime.bigint() - started) / LOG_LINES);
    cpuNs = Math.min(cpuNs, ((used.user + used.system) * 1000) / LOG_LINES);
    if (accessLog.dropped > 0) throw new Error(`the access log dropped ${accessLog.dropped} lines in the bench`);
    await accessLog.close();
  }
  return { cpuNs, wallNs };
}
let sinkLine = 0;
const loopBaseline = await costPerLine((i) => {
  sinkLine += i;
});
const perLine = await costPerLine(null);
rmSync(logDir, { recursive: true, force: true });
console.log(`\n== Access log (${LOG_LINES} lines a round to a file, formatting and the write included; CPU time of all threads) ==`);
line('empty function call + the same yields (baseline)', loopBaseline.cpuNs, loopBaseline.cpuNs);
line('access log line, amortised', perLine.cpuNs, loopBaseline.cpuNs);
console.log(`(wall clock: ${perLine.wallNs.toFixed(1)} ns a line, ${loopBaseline.wallNs.toFixed(1)} ns baseline)`);
const addedUs = (perLine.cpuNs - loopBaseline.cpuNs) / 1000;
reportGoal({
  figure: 'access log line, amortised write included',
  measured: `${addedUs.toFixed(3)} µs`,
  goal: '≤ 0.5 µs',
  met: addedUs <= 0.5,
  baseline: `empty function call + yields ${loopBaseline.cpuNs.toFixed(1)} ns`,
});
if (sinkLine === -1) console.log('unreachable');
