// `hotplane host --workers N`: requests per CPU-second of the host's processes (the primary, its workers and their
// cells, utime + stime from /proc/<pid>/stat) with 1 and 2 workers under wrk, and the raw throughput ratio. On 2
// cores wrk takes one of them, so scaling is judged per CPU-second, not by requests per second.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exampleArtifacts } from '../server/host/testing';
import type { DesiredState, Isolation } from '../server/protocol';
import { freePort } from '../server/testing/processes';
import { benchSize, benchSmoke, reportGoal } from './support/goals';
import { haveWrk, runWrk } from './support/wrk';

const SECONDS = benchSize(Number(process.env.BENCH_SECONDS ?? 8), 1);
const WARM_UP_SECONDS = benchSize(2, 1);
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const artifacts = await exampleArtifacts();
const children: ChildProcess[] = [];

// Every process under the primary (its workers, their cells and sandboxes).
function processTree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readFileSync(`/proc/${entry}/stat`, 'utf8').toString();
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const found = [root];
  for (let i = 0; i < found.length; i++) found.push(...(parents.get(found[i]) ?? []));
  return found;
}

/** utime + stime of these processes, in seconds (a process gone since counts nothing). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').toString();
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }
  return ticks / CLOCK_TICKS;
}

async function startHost(workers: number, isolation: Isolation) {
  const work = artifacts.tempDir();
  const version = await artifacts.version('ledger', '1.1.0', { config: 'alice 1000\nbob 1000\n', isolation });
  mkdirSync(path.join(work, 'store'));
  copyFileSync(artifacts.artifactPath(version.sm3), path.join(work, 'store', `${version.sm3}.so`));
  const state: DesiredState = { generation: 1, modules: [{ module: 'ledger', versions: [version] }] };
  writeFileSync(path.join(work, 'state.json'), JSON.stringify(state));
  const port = await freePort();
  const child = spawn(process.execPath, ['--conditions=react-server', '--import', 'tsx', 'server/host/main.ts', '--workers', String(workers), '--desired-state', path.join(work, 'state.json'),
    '--artifacts', path.join(work, 'store'), '--data', path.join(work, 'data'), '--port', String(port), '--access-log', 'off'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('invoke API on')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the host exited ${code}: ${log}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/v1/invoke/ledger` };
}

interface Run {
  requestsPerSecond: number;
  requestsPerCpuSecond: number;
  cpuPerSecond: number;
  processes: number;
}

async function measure(workers: number, isolation: Isolation): Promise<Run> {
  const host = await startHost(workers, isolation);
  await runWrk(host.url, 'balance alice', WARM_UP_SECONDS);
  const pids = processTree(host.child.pid!);
  const cpuBefore = cpuSeconds(pids);
  const started = performance.now();
  const result = await runWrk(host.url, 'balance alice', SECONDS);
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(pids) - cpuBefore;
  host.child.kill('SIGTERM');
  await new Promise((resolve) => host.child.once('exit', resolve));
  if (result.non2xx > 0 || result.socketErrors > 0) throw new Error(`${workers} workers: ${result.non2xx} non-2xx answers, ${result.socketErrors} socket errors`);
  const requests = result.requestsPerSecond * SECONDS;
  const run = { requestsPerSecond: result.requestsPerSecond, requestsPerCpuSecond: requests / cpu, cpuPerSecond: cpu / elapsed, processes: pids.length };
  console.log(`${isolation.padEnd(7)} ${String(workers).padStart(2)} worker(s): ${Math.round(run.requestsPerSecond).toLocaleString('en').padStart(8)} req/s, ${run.cpuPerSecond.toFixed(2)} CPU-s/s over ${run.processes} processes, ${Math.round(run.requestsPerCpuSecond).toLocaleString('en')} req per CPU-second`);
  return run;
}

// The least a shared cell behind the primary would add to every call: one worker ↔ primary IPC round trip
// (node:cluster's channel), 32 calls outstanding, CPU of both ends.
async function ipcHop(): Promise<{ perSecond: number; cpuUsPerCall: number }> {
  const echo = spawn(process.execPath, ['-e', "process.on('message', (m) => process.send(m))"], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.push(echo);
  const message = { kind: 'call', id: 0, body: 'balance alice' };
  const until = performance.now() + SECONDS * 1000;
  const ownBefore = process.cpuUsage();
  const echoBefore = cpuSeconds([echo.pid!]);
  let calls = 0;
  await new Promise<void>((resolve) => {
    let outstanding = 0;
    echo.on('message', () => {
      calls++;
      outstanding--;
      if (performance.now() < until) {
        outstanding++;
        echo.send(message);
      } else if (outstanding === 0) resolve();
    });
    for (; outstanding < 32; outstanding++) echo.send(message);
  });
  const own = process.cpuUsage(ownBefore);
  const cpu = (own.user + own.system) / 1e6 + (cpuSeconds([echo.pid!]) - echoBefore);
  echo.kill();
  return { perSecond: calls / SECONDS, cpuUsPerCall: (cpu * 1e6) / calls };
}

try {
  if (!haveWrk()) throw new Error('wrk is not installed (apt-get install -y wrk): this bench needs it');
  console.log(`\n== hotplane host --workers 1 vs 2: ${SECONDS} s of wrk (1 thread, 32 connections) each, ledger "balance alice" ==`);
  const one = await measure(1, 'inproc');
  const two = await measure(2, 'inproc');
  const perCpu = two.requestsPerCpuSecond / one.requestsPerCpuSecond;
  console.log(`raw throughput, 2 workers vs 1: ${(two.requestsPerSecond / one.requestsPerSecond).toFixed(2)}× (wrk shares the 2 cores with the workers)`);
  reportGoal({
    figure: 'Host with 2 workers vs 1, requests per CPU-second of the host’s processes',
    measured: `${perCpu.toFixed(2)}× (raw ${(two.requestsPerSecond / one.requestsPerSecond).toFixed(2)}×)`,
    goal: '≥ 0.9× of linear',
    met: perCpu >= 0.9,
    baseline: `1 worker ${Math.round(one.requestsPerCpuSecond).toLocaleString('en')} req/CPU-s, ${Math.round(one.requestsPerSecond).toLocaleString('en')} req/s`,
  });

  // Process cells are owned per worker (each worker's Host starts its own): the same figures through a cell.
  if (!benchSmoke) {
    console.log('\n== the same through a process cell per worker ==');
    const cellOne = await measure(1, 'process');
    const cellTwo = await measure(2, 'process');
    console.log(`process cells per worker, 2 workers vs 1: ${(cellTwo.requestsPerCpuSecond / cellOne.requestsPerCpuSecond).toFixed(2)}× per CPU-second, raw ${(cellTwo.requestsPerSecond / cellOne.requestsPerSecond).toFixed(2)}×`);
    const hop = await ipcHop();
    console.log(`shared cells would add a hop through the primary: its IPC round trip alone ${Math.round(hop.perSecond).toLocaleString('en')}/s with 32 outstanding, ${hop.cpuUsPerCall.toFixed(1)} µs CPU per call (vs ${(1e6 / cellTwo.requestsPerCpuSecond).toFixed(1)} µs CPU per whole request with per-worker cells)`);
  }
} finally {
  for (const child of children) child.kill('SIGKILL');
}
