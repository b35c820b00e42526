// Cell benchmarks: the same ledger `balance` request through a direct ModuleLibrary call, an inproc cell (the
// baseline of both goals), a process cell one call at a time and with 32 calls outstanding, each with and without
// the bubblewrap sandbox; then how long a process cell takes from spawn to ready.
import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { benchSize, reportGoal } from './support/goals';
import { buildExampleModules, exampleModulePath } from '../server/demo/example-modules';
import { createCell, type Cell } from '../server/host/cell';
import { Op } from '../server/host/cell-protocol';
import { createHostChannel } from '../server/host/cell-ring';
import { InprocCell } from '../server/host/inproc-cell';
import { ModuleLibrary } from '../server/host/module-library';
import { cellChildScript } from '../server/host/process-cell';
import type { SandboxSettings } from '../server/host/sandbox';

const GOAL_ADDED_P50_US = 15;
const GOAL_PIPELINED_PER_SECOND = 400_000;
const PIPELINE_DEPTH = 32;
const SEQUENTIAL_CALLS = benchSize(100_000, 3_000);
const PIPELINED_CALLS = benchSize(400_000, 10_000);
const DIRECT_CALLS = benchSize(300_000, 20_000);
const SPAWN_RUNS = benchSize(7, 1);
const REQUEST = Buffer.from('balance alice');
const CONFIG = Buffer.from('alice 1000\n');
const modulePath = exampleModulePath(await buildExampleModules(), 'ledger', '1.0.0');

interface Result {
  p50: number;
  p99: number;
  perSecond: number;
}

function summarize(samplesUs: Float64Array, totalMs: number): Result {
  const sorted = Float64Array.from(samplesUs).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), perSecond: samplesUs.length / (totalMs / 1000) };
}

function line(label: string, result: Result) {
  const us = (v: number) => `${v.toFixed(2)} µs`.padStart(11);
  console.log(`${label.padEnd(44)} p50 ${us(result.p50)}  p99 ${us(result.p99)}  ${Math.round(result.perSecond).toLocaleString('en').padStart(10)} calls/s`);
}

function measureSync(calls: number, call: () => void): Result {
  for (let i = 0; i < calls / 10; i++) call();
  const samples = new Float64Array(calls);
  const started = performance.now();
  for (let i = 0; i < calls; i++) {
    const before = performance.now();
    call();
    samples[i] = (performance.now() - before) * 1000;
  }
  return summarize(samples, performance.now() - started);
}

async function measureSequential(calls: number, call: () => Promise<unknown>): Promise<Result> {
  for (let i = 0; i < calls / 10; i++) await call();
  const samples = new Float64Array(calls);
  const started = performance.now();
  for (let i = 0; i < calls; i++) {
    const before = performance.now();
    await call();
    samples[i] = (performance.now() - before) * 1000;
  }
  return summarize(samples, performance.now() - started);
}

// `depth` lanes, each issuing its next call when the previous one answers: always `depth` calls outstanding.
async function measurePipelined(calls: number, depth: number, call: () => Promise<unknown>): Promise<Result> {
  const samples = new Float64Array(calls);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: depth }, async () => {
      while (next < calls) {
        const i = next++;
        const before = performance.now();
        await call();
        samples[i] = (performance.now() - before) * 1000;
      }
    }),
  );
  return summarize(samples, performance.now() - started);
}

// The same cell without its bubblewrap sandbox, to show what the sandbox costs (sandbox.ts).
const UNSANDBOXED: SandboxSettings = { bwrapPath: '/nonexistent/bwrap', demoMode: true, allowUnsandboxed: true };

async function processCell(sandbox?: SandboxSettings): Promise<Cell> {
  const cell = createCell({ path: modulePath, isolation: 'process', goRuntime: false, sandbox });
  await cell.open();
  await cell.init(CONFIG);
  return cell;
}

// Spawn to the first answer of a bare child: what the launch method costs, without the cell around it.
function firstAnswerMs(args: string[]): Promise<number> {
  const started = performance.now();
  const channel = createHostChannel();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe', channel.childDoorbellFd, 'pipe', channel.fd] });
  closeSync(channel.fd);
  closeSync(channel.childDoorbellFd);
  channel.self.park();
  channel.out.write(1, Op.OPEN, 0, Buffer.from(modulePath));
  return new Promise((resolve) => {
    (child.stdio as unknown as Readable[])[6].on('data', () => {
      resolve(performance.now() - started);
      child.kill();
      child.once('exit', () => channel.release());
    });
  });
}

async function median(runs: number, measure: () => Promise<number>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await measure());
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

console.log(`\n== ledger "${REQUEST}" (${modulePath.split('/').pop()}) ==`);
const library = ModuleLibrary.open(modulePath);
library.init(CONFIG);
const direct = measureSync(DIRECT_CALLS, () => library.handle(REQUEST));
library.shutdown();
library.close();
line('(a) direct ModuleLibrary call', direct);

const inproc = createCell({ path: modulePath, isolation: 'inproc', goRuntime: false }) as InprocCell;
await inproc.open();
await inproc.init(CONFIG);
const inprocAsync = await measureSequential(DIRECT_CALLS, () => inproc.handle(REQUEST, 1_000));
const inprocSync = measureSync(DIRECT_CALLS, () => inproc.handleSync(REQUEST));
const inprocPipelined = await measurePipelined(PIPELINED_CALLS, PIPELINE_DEPTH, () => inproc.handle(REQUEST, 1_000));
await inproc.dispose();
line('(b) inproc cell, await handle() (baseline)', inprocAsync);
line('    inproc cell, handleSync()', inprocSync);
line(`    inproc cell, ${PIPELINE_DEPTH} outstanding (baseline)`, inprocPipelined);

async function processCellRows(label: string, sandbox?: SandboxSettings): Promise<{ sequential: Result; pipelined: Result }> {
  const cell = await processCell(sandbox);
  const sequential = await measureSequential(SEQUENTIAL_CALLS, () => cell.handle(REQUEST, 1_000));
  const pipelined = await measurePipelined(PIPELINED_CALLS, PIPELINE_DEPTH, () => cell.handle(REQUEST, 1_000));
  await cell.dispose();
  line(`(c) process cell${label}, sequential`, sequential);
  line(`(d) process cell${label}, ${PIPELINE_DEPTH} outstanding`, pipelined);
  return { sequential, pipelined };
}

const sandboxed = await processCellRows('');
const unsandboxed = await processCellRows(' without sandbox', UNSANDBOXED);

const inprocBaseline = `inproc cell p50 ${inprocAsync.p50.toFixed(1)} µs in the same run`;
for (const [label, rows] of [['', sandboxed], [' (no sandbox)', unsandboxed]] as const) {
  const added = rows.sequential.p50 - inprocAsync.p50;
  reportGoal({
    figure: `process cell${label}: added p50 of a sequential call vs inproc`,
    measured: `+${added.toFixed(1)} µs (p50 ${rows.sequential.p50.toFixed(1)} µs)`,
    goal: `≤ +${GOAL_ADDED_P50_US} µs`,
    met: added <= GOAL_ADDED_P50_US,
    baseline: inprocBaseline,
  });
  reportGoal({
    figure: `process cell${label}: calls/s with ${PIPELINE_DEPTH} outstanding`,
    measured: `${Math.round(rows.pipelined.perSecond).toLocaleString('en')} calls/s`,
    goal: `≥ ${GOAL_PIPELINED_PER_SECOND.toLocaleString('en')} calls/s`,
    met: rows.pipelined.perSecond >= GOAL_PIPELINED_PER_SECOND,
    baseline: `inproc cell ${Math.round(inprocPipelined.perSecond).toLocaleString('en')} calls/s with ${PIPELINE_DEPTH} outstanding`,
  });
}

console.log(`\n== process cell spawn to ready (median of ${SPAWN_RUNS}) ==`);
const ready = await median(SPAWN_RUNS, async () => {
  const started = performance.now();
  const cell = await processCell();
  const ms = performance.now() - started;
  await cell.dispose();
  return ms;
});
console.log(`${'createCell → open() + init() resolved'.padEnd(44)} ${ready.toFixed(1).padStart(7)} ms`);
const readyUnsandboxed = await median(SPAWN_RUNS, async () => {
  const started = performance.now();
  const cell = await processCell(UNSANDBOXED);
  const ms = performance.now() - started;
  await cell.dispose();
  return ms;
});
console.log(`${'  the same without the sandbox'.padEnd(44)} ${readyUnsandboxed.toFixed(1).padStart(7)} ms`);
const compiled = await median(SPAWN_RUNS, async () => firstAnswerMs([await cellChildScript()]));
console.log(`${'bare child, compiled .mjs (what cells use)'.padEnd(44)} ${compiled.toFixed(1).padStart(7)} ms`);
const childSource = fileURLToPath(new URL('../server/host/cell-child.ts', import.meta.url));
const underTsx = await median(SPAWN_RUNS, () => firstAnswerMs(['--conditions=react-server', '--import', 'tsx', childSource]));
console.log(`${'bare child under --import tsx (for comparison)'.padEnd(44)} ${underTsx.toFixed(1).padStart(7)} ms`);
