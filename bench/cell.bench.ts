// Cell benchmarks: the same ledger `balance` request through a direct ModuleLibrary call (the baseline), an inproc
// cell, a process cell one call at a time, and a process cell with 32 calls outstanding; then how long a process
// cell takes from spawn to ready. Printed, not asserted: compare the added latency against the goal.
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { buildExampleModules, exampleModulePath } from '../server/demo/example-modules';
import { createCell, type Cell } from '../server/host/cell';
import { encodeFrame, FrameReader, Op } from '../server/host/cell-protocol';
import { InprocCell } from '../server/host/inproc-cell';
import { ModuleLibrary } from '../server/host/module-library';
import { cellChildScript } from '../server/host/process-cell';
import type { SandboxSettings } from '../server/host/sandbox';

const GOAL_ADDED_P50_US = 30;
const PIPELINE_DEPTH = 32;
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
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  return new Promise((resolve) => {
    const reader = new FrameReader(() => {
      resolve(performance.now() - started);
      child.kill();
    });
    (child.stdio[4] as Readable).on('data', (chunk: Buffer) => reader.push(chunk));
    (child.stdio[3] as Writable).on('error', () => {}).end(encodeFrame(1, Op.OPEN, 0, Buffer.from(modulePath)));
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
const direct = measureSync(300_000, () => library.handle(REQUEST));
library.shutdown();
library.close();
line('(a) direct ModuleLibrary call (baseline)', direct);

const inproc = createCell({ path: modulePath, isolation: 'inproc', goRuntime: false }) as InprocCell;
await inproc.open();
await inproc.init(CONFIG);
const inprocAsync = await measureSequential(300_000, () => inproc.handle(REQUEST, 1_000));
const inprocSync = measureSync(300_000, () => inproc.handleSync(REQUEST));
await inproc.dispose();
line('(b) inproc cell, await handle()', inprocAsync);
line('    inproc cell, handleSync()', inprocSync);

const sequentialCell = await processCell();
const sequential = await measureSequential(30_000, () => sequentialCell.handle(REQUEST, 1_000));
await sequentialCell.dispose();
line('(c) process cell, sequential', sequential);

const unsandboxedCell = await processCell(UNSANDBOXED);
const unsandboxed = await measureSequential(30_000, () => unsandboxedCell.handle(REQUEST, 1_000));
await unsandboxedCell.dispose();
line('    process cell without sandbox, sequential', unsandboxed);

const pipelinedCell = await processCell();
const pipelined = await measurePipelined(200_000, PIPELINE_DEPTH, () => pipelinedCell.handle(REQUEST, 1_000));
await pipelinedCell.dispose();
line(`(d) process cell, ${PIPELINE_DEPTH} outstanding`, pipelined);

const added = sequential.p50 - inprocAsync.p50;
console.log(
  `\nprocess vs inproc, added p50: +${added.toFixed(1)} µs   goal: ≤ +${GOAL_ADDED_P50_US} µs p50   ` +
    `${added <= GOAL_ADDED_P50_US ? 'MET' : 'MISSED'}`,
);

console.log('\n== process cell spawn to ready (median of 7) ==');
const ready = await median(7, async () => {
  const started = performance.now();
  const cell = await processCell();
  const ms = performance.now() - started;
  await cell.dispose();
  return ms;
});
console.log(`${'createCell → open() + init() resolved'.padEnd(44)} ${ready.toFixed(1).padStart(7)} ms`);
const readyUnsandboxed = await median(7, async () => {
  const started = performance.now();
  const cell = await processCell(UNSANDBOXED);
  const ms = performance.now() - started;
  await cell.dispose();
  return ms;
});
console.log(`${'  the same without the sandbox'.padEnd(44)} ${readyUnsandboxed.toFixed(1).padStart(7)} ms`);
const compiled = await median(7, async () => firstAnswerMs([await cellChildScript()]));
console.log(`${'bare child, compiled .mjs (what cells use)'.padEnd(44)} ${compiled.toFixed(1).padStart(7)} ms`);
const childSource = fileURLToPath(new URL('../server/host/cell-child.ts', import.meta.url));
const underTsx = await median(7, () => firstAnswerMs(['--conditions=react-server', '--import', 'tsx', childSource]));
console.log(`${'bare child under --import tsx (for comparison)'.padEnd(44)} ${underTsx.toFixed(1).padStart(7)} ms`);
