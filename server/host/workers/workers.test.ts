// Runs alone (scripts/test.mjs): it kills a worker and waits for its replacement to take new connections, which
// stalled past a minute twice when other host test files ran beside it (never alone, nor under plain CPU load).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DesiredState, DesiredVersion } from '../../protocol';
import { exited, freePort } from '../../testing/processes';
import { waitFor } from '../../testing/wait-for';
import { exampleArtifacts } from '../testing';
import { MetricsAggregate, mergedPercentile, mergeSampleList, mergeSamples, mergeStatuses } from './aggregate';
import { HostMetrics, LATENCY_GRID, type GriddedSample } from '../metrics';
import type { MetricSample, VersionStatus } from '../../protocol';
import type { WorkerSnapshot } from './ipc';

// `hotplane host --workers 2`: real host processes on loopback (a primary and two node:cluster workers) loading
// real example modules; each request on a fresh connection, so the primary deals connections to both workers.

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

interface Running {
  child: ChildProcess;
  port: number;
  dataDir: string;
  store: string;
  log: string[];
}

async function startHost(versions: DesiredVersion[], artifacts: Awaited<ReturnType<typeof exampleArtifacts>>): Promise<Running> {
  const work = artifacts.tempDir();
  mkdirSync(path.join(work, 'store'));
  for (const v of versions) copyFileSync(artifacts.artifactPath(v.sm3), path.join(work, 'store', `${v.sm3}.so`));
  const state: DesiredState = { generation: 1, modules: [{ module: 'ledger', versions }] };
  writeFileSync(path.join(work, 'state.json'), JSON.stringify(state));
  const port = await freePort();
  const dataDir = path.join(work, 'data');
  const child = spawn(process.execPath, ['--conditions=react-server', '--import', 'tsx', 'server/host/main.ts', '--workers', '2', '--desired-state', path.join(work, 'state.json'),
    '--artifacts', path.join(work, 'store'), '--data', dataDir, '--port', String(port), '--access-log', 'off'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (text: string) => log.push(text));
  await waitFor('the host to listen', () => {
    if (child.exitCode !== null) assert.fail(`the host exited with ${child.exitCode}: ${log.join('')}`);
    return log.join('').includes('invoke API on');
  }, { timeoutMs: 60_000 });
  return { child, port, dataDir, store: path.join(work, 'store'), log };
}

// A fresh connection each time (no keep-alive agent), so consecutive requests may land on different workers.
function call(port: number, method: string, pathname: string, body = '', headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: pathname, agent: false, headers: { 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${pathname}: no answer in 20 s`)));
    req.end(body);
  });
}

const invoke = (port: number) => call(port, 'POST', '/v1/invoke/ledger', 'balance alice');

function metricValue(metrics: string, series: string): number | null {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : null;
}

function workerRequests(metrics: string): Map<number, number> {
  const found = new Map<number, number>();
  for (const m of metrics.matchAll(/^hotplane_worker_requests_total\{pid="(\d+)"\} (\d+)$/gm)) found.set(Number(m[1]), Number(m[2]));
  return found;
}

test('two workers both serve, /metrics sums them to the requests sent, a new desired state reaches every worker, a killed worker is replaced, SIGTERM stops all', async () => {
  const artifacts = await exampleArtifacts();
  const host = await startHost([await artifacts.version('ledger', '1.1.0', { config: 'alice 7\n', isolation: 'inproc' })], artifacts);
  const { port } = host;
  try {
    const SENT = 40;
    for (let i = 0; i < SENT; i++) assert.deepEqual(await invoke(port), { status: 200, body: 'alice 7' });
    // The primary sums the workers' snapshots, taken each second: the sum catches up within a few seconds.
    const metrics = await waitFor('/metrics to count every request', async () => {
      const text = (await call(port, 'GET', '/metrics')).body;
      return metricValue(text, 'hotplane_requests_total{module="ledger",version="1.1.0",outcome="ok"}') === SENT ? text : null;
    });
    assert.equal(metricValue(metrics, 'hotplane_request_latency_microseconds_count{module="ledger",version="1.1.0"}'), SENT);
    const perWorker = workerRequests(metrics);
    assert.equal(perWorker.size, 2, `two live workers: ${metrics}`);
    for (const [pid, served] of perWorker) assert.ok(served > 0, `worker ${pid} served none of the ${SENT} requests`);
    assert.equal([...perWorker.values()].reduce((a, b) => a + b, 0), SENT);
    const pids = [...perWorker.keys()];
    for (const pid of pids) assert.ok(readFileSync(`/proc/${pid}/status`, 'utf8').includes(`PPid:\t${host.child.pid}`), `worker ${pid} is a child of the primary`);

    // Posted through whichever worker answers: the primary hands it to both.
    const token = readFileSync(path.join(host.dataDir, 'admin-token'), 'utf8').trim();
    // Another version (its own file: the same file loaded again would be glibc's same instance).
    const next: DesiredState = { generation: 2, modules: [{ module: 'ledger', versions: [await artifacts.version('ledger', '1.0.0', { config: 'alice 9\n', isolation: 'inproc' })] }] };
    copyFileSync(artifacts.artifactPath(next.modules[0].versions[0].sm3), path.join(host.store, `${next.modules[0].versions[0].sm3}.so`));
    const posted = await call(port, 'POST', '/v1/desired-state', JSON.stringify(next), { authorization: `Bearer ${token}`, 'content-type': 'application/json' });
    assert.equal(posted.status, 200, posted.body);
    for (let i = 0; i < 20; i++) assert.deepEqual(await invoke(port), { status: 200, body: 'alice 9' }, 'every worker runs generation 2');
    const generations = new Set<number>();
    for (let i = 0; i < 10; i++) generations.add(((JSON.parse((await call(port, 'GET', '/v1/status', '', { authorization: `Bearer ${token}` })).body)) as { generation: number }).generation);
    assert.deepEqual([...generations], [2]);

    process.kill(pids[0], 'SIGKILL');
    // Once the primary knows (a connection dealt to the worker in the moment it died is lost with it), the port keeps
    // serving from the other worker while the primary starts a new one.
    await waitFor('the primary to see the worker die', () => host.log.join('').includes(`(pid ${pids[0]}) died`));
    for (let i = 0; i < 10; i++) assert.deepEqual(await invoke(port), { status: 200, body: 'alice 9' });
    const replaced = await waitFor('a new worker in place of the killed one', async () => {
      const live = workerRequests((await call(port, 'GET', '/metrics')).body);
      return live.size === 2 && !live.has(pids[0]) ? live : null;
    }, { timeoutMs: 60_000 });
    const newPid = [...replaced.keys()].find((pid) => pid !== pids[1])!;
    // Two calls per look, not one: the primary deals connections to the two workers in turn, so one call and one
    // /metrics per look can lock into every call going to one worker and every /metrics to the other.
    await waitFor('the new worker to serve', async () => {
      await invoke(port);
      await invoke(port);
      return ((workerRequests((await call(port, 'GET', '/metrics')).body).get(newPid) ?? 0) > 0);
    }, { timeoutMs: 60_000 }).catch(async (error: Error) => assert.fail(`${error.message} (new worker ${newPid})\n${(await call(port, 'GET', '/metrics')).body}\n${host.log.join('')}`));
    // The killed worker's share of the 30 calls to 1.0.0 before it died still counts for the host.
    await waitFor('every call to 1.0.0 counted', async () => metricValue((await call(port, 'GET', '/metrics')).body, 'hotplane_requests_total{module="ledger",version="1.0.0",outcome="ok"}')! >= 30);

    host.child.kill('SIGTERM');
    await exited(host.child);
    assert.equal(host.child.exitCode, 0, host.log.join(''));
    for (const pid of [pids[1], newPid]) assert.ok(!existsSync(`/proc/${pid}`), `worker ${pid} stopped with the primary`);
    await assert.rejects(invoke(port), 'the port is closed');
  } finally {
    host.child.kill('SIGKILL');
  }
});

test('an inproc version that kills a worker is moved to a process cell once, for every worker of the host, and the port keeps serving', async () => {
  const artifacts = await exampleArtifacts();
  // The crash variant dies of SIGSEGV at its 4th request in a process; the healthy version carries the rest.
  const crashing = await artifacts.version('ledger', '1.2.4', { variant: 'crash', config: 'alice 10\n', isolation: 'inproc', weight: 50 });
  const healthy = await artifacts.version('ledger', '1.1.0', { config: 'alice 7\n', isolation: 'inproc', weight: 50 });
  const host = await startHost([crashing, healthy], artifacts);
  const token = readFileSync(path.join(host.dataDir, 'admin-token'), 'utf8').trim();
  try {
    await waitFor('a worker to die in the crashing version', async () => {
      await invoke(host.port).catch(() => null);
      return host.log.join('').includes('now runs in a process cell');
    }, { timeoutMs: 60_000 });
    assert.deepEqual(JSON.parse(readFileSync(path.join(host.dataDir, 'inproc-quarantine.json'), 'utf8')), ['ledger@1.2.4'], 'decided once for the host');
    // Every worker, the replaced one and the survivor, runs the culprit in a process cell now.
    await waitFor('every worker to run 1.2.4 in a process cell', async () => {
      const seen = [];
      for (let i = 0; i < 8; i++) {
        const status = await call(host.port, 'GET', '/v1/status', '', { authorization: `Bearer ${token}` }).catch(() => null);
        if (!status || status.status !== 200) return false;
        const versions = (JSON.parse(status.body) as { versions: { version: string; isolation: string; phase: string }[] }).versions;
        seen.push(...versions.filter((v) => v.version === '1.2.4' && v.phase !== 'disposed' && v.phase !== 'draining'));
      }
      return seen.length > 0 && seen.every((v) => v.isolation === 'process');
    }, { timeoutMs: 90_000 }).catch((error: Error) => assert.fail(`${error.message}\n${host.log.join('')}`));
    const culpritLines = host.log.join('').split('\n').filter((line) => line.includes('now runs in a process cell'));
    assert.ok(culpritLines.length >= 1);
    assert.deepEqual(await invoke(host.port).then((r) => r.status === 200 || r.status === 502), true, 'the port serves');
  } finally {
    host.child.kill('SIGKILL');
  }
});

test('merged percentiles: one worker is exact at the grid, two workers land on the combined distribution', () => {
  const sample = (requests: number, p50: number, max: number): MetricSample => ({
    module: 'm', version: 'v', second: '2026-12-05T00:00:00.000Z', requests, ok: requests, app4xx: 0, errors5xx: 0, timeouts: 0, crashes: 0, p50, p95: p50, p99: p50, max,
  });
  // Worker A: every call 10 µs; worker B: every call 100 µs, with three times A's calls.
  const flat = (value: number) => LATENCY_GRID.map(() => value);
  const a = { sample: sample(100, 10, 10), grid: flat(10) };
  const b = { sample: sample(300, 100, 100), grid: flat(100) };
  assert.equal(mergedPercentile([{ count: 100, grid: flat(10), max: 10 }], 50), 10);
  const merged = mergeSamples([a, b]);
  assert.equal(merged.requests, 400);
  assert.equal(merged.p50, 100, 'three quarters of the calls took 100 µs');
  assert.equal(mergedPercentile([{ count: 100, grid: flat(10), max: 10 }, { count: 300, grid: flat(100), max: 100 }], 20), 10, 'the fastest quarter is A');
  assert.equal(merged.max, 100);
});

test('the host report of two workers: samples of one version and second summed, statuses the worst with in-flight summed, a dead worker’s totals kept in /metrics', () => {
  const second = '2026-12-05T00:00:01.000Z';
  const sample = (requests: number, errors: number, p50: number): GriddedSample => ({
    sample: { module: 'ledger', version: '1.1.0', second, requests, ok: requests - errors, app4xx: 0, errors5xx: errors, timeouts: 0, crashes: errors, p50, p95: p50, p99: p50, max: p50 },
    grid: LATENCY_GRID.map(() => p50),
  });
  const merged = mergeSampleList([sample(10, 0, 20), sample(30, 2, 40), { ...sample(5, 0, 9), sample: { ...sample(5, 0, 9).sample, second: '2026-12-05T00:00:02.000Z' } }]);
  assert.equal(merged.length, 2, 'one sample per version and second');
  assert.deepEqual({ requests: merged[0].requests, errors: merged[0].errors5xx, crashes: merged[0].crashes, p50: merged[0].p50 }, { requests: 40, errors: 2, crashes: 2, p50: 40 });

  const status = (phase: VersionStatus['phase'], healthy: boolean, inFlight: number): VersionStatus => ({
    module: 'ledger', version: '1.1.0', sm3: 'a'.repeat(64), isolation: 'process', phase, weight: 100, healthy, load: {}, inFlight, goRuntime: false, since: second,
  });
  const statuses = mergeStatuses([[status('serving', true, 3)], [status('crashed', false, 1)]]);
  assert.equal(statuses.length, 1);
  assert.deepEqual({ phase: statuses[0].phase, inFlight: statuses[0].inFlight }, { phase: 'crashed', inFlight: 4 });

  const totals = { requests: 7, latencySumUs: 70, ok: 7, app: 0, fault: 0, crashed: 0, timeout: 0, hangs: 0 };
  const snapshot = (requests: number, hangs = 0): WorkerSnapshot => ({
    versions: [{ module: 'ledger', version: '1.1.0', totals: { ...totals, requests, ok: requests, hangs }, last: null }],
    samples: [], statuses: [], generation: 1, awaitingArtifacts: false, takenAt: 0,
    process: { cpuUserSeconds: 1, cpuSystemSeconds: 1, residentBytes: 1, startTimeSeconds: 1, heapUsedBytes: 1, externalBytes: 1, loop: null },
  });
  const aggregate = new MetricsAggregate();
  aggregate.update(101, snapshot(7, 1));
  aggregate.update(102, snapshot(5, 2));
  aggregate.retire(101);
  aggregate.update(103, snapshot(2));
  const text = aggregate.prometheus({ cpuUserSeconds: 0, cpuSystemSeconds: 0, residentBytes: 0, startTimeSeconds: 0, heapUsedBytes: 0, externalBytes: 0, loop: null });
  assert.equal(metricValue(text, 'hotplane_requests_total{module="ledger",version="1.1.0",outcome="ok"}'), 14);
  assert.equal(metricValue(text, 'hotplane_hangs_total{module="ledger",version="1.1.0"}'), 3, 'hangs summed, the dead worker’s kept');
  assert.deepEqual([...workerRequests(text).keys()].sort(), [102, 103]);
  assert.equal(metricValue(text, 'process_cpu_user_seconds_total'), 3, 'the dead worker’s CPU stays in the host’s');
});

test('a worker’s metrics describe each second at the latency grid, exact at p50/p95/p99', () => {
  const metrics = new HostMetrics({ latencyGrid: true });
  const version = metrics.forVersion('ledger', '1.1.0');
  for (let us = 1; us <= 1000; us++) version.record('ok', us);
  metrics.closeSecond();
  const [{ sample, grid }] = metrics.drainGriddedSamples();
  assert.equal(grid.length, LATENCY_GRID.length);
  for (const [percent, field] of [[50, 'p50'], [95, 'p95'], [99, 'p99']] as const) assert.equal(grid[LATENCY_GRID.indexOf(percent)], sample[field]);
  assert.deepEqual(metrics.drainGriddedSamples(), [], 'drained once');
});

test('--workers takes a whole number from 1, and says so', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/host/main.ts', '--workers', '0', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  await exited(child);
  assert.notEqual(child.exitCode, 0);
  assert.match(stderr, /--workers 0: give a whole number of worker processes from 1 to 256/);
});
