// Fleet bench (issue 9): 1,000 simulated hosts speaking the real fleet protocol over mutual TLS (each with its own
// certificate from the console's CA) against 2 console replicas on one private PostgreSQL cluster. Measured: how
// long the hosts take to connect, propagation of a desired-state change (carried out by the leader's rollout engine)
// to every host — separately for hosts on the replica that wrote it and on the other, which learns by NOTIFY —,
// report intake per second, and CPU seconds and memory per process. HOSTS=… and SECONDS=… change the size.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditActor } from '../server/audit/actor';
import { registerHost } from '../server/fleet/hosts';
import { loadOrCreateFleetCa } from '../server/fleet/identity/ca';
import { enrolHost } from '../server/fleet/identity/enrolment';
import { certificateRequestPem, newKeyPair, privateKeyPem } from '../server/fleet/identity/x509';
import { startRollout } from '../server/rollout/operate';
import { proposeWholeChange } from '../server/rollout/whole-change';
import { FleetMetrics } from '../server/fleet/metrics-store';
import { freePort } from '../server/testing/processes';
import { percentile } from '../proof/support/proof-result';
import { startReplicaProcess } from '../proof/support/replica-process';
import type { SimulatedHost, SimulatorMessage } from './support/fleet-simulator';
import { benchSize, reportGoal } from './support/goals';

const HOSTS = Number(process.env.HOSTS ?? benchSize(1000, 5));
const SECONDS = Number(process.env.SECONDS ?? benchSize(20, 2));
const CHANGES = Number(process.env.CHANGES ?? benchSize(5, 1));
// REPORT_EVERY_MS=3600000 measures the console with the hosts connected but silent: its cost without reports.
const REPORT_EVERY_MS = Number(process.env.REPORT_EVERY_MS ?? 1_000);
const ZONES = ['zone-a', 'zone-b', 'zone-c'];
const tsx = ['--conditions=react-server', '--import', 'tsx'];

function line(label: string, value: string, goal = '') {
  console.log(`${label.padEnd(64)} ${value.padStart(16)}   ${goal}`);
}

// utime + stime of a process, in seconds (clock ticks of 1/100 s on Linux).
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) / 1024;
}

// Every postgres server process (the private cluster's backends and its own workers).
function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim().startsWith('postgres')) total += cpuSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

process.env.HOTPLANE_TEST_DATABASE = 'postgresql';
const { createRolloutFixture } = await import('../server/testing/rollout-fixture');
const r = await createRolloutFixture();
const db = r.f.db;
const databaseUrl = process.env.DATABASE_URL!;
const work = mkdtempSync(path.join(os.tmpdir(), 'hotplane-fleet-bench-'));
const caFile = path.join(work, 'shared-ca', 'fleet-ca.pem');
const ca = await loadOrCreateFleetCa(caFile, 'hotplane.local');
const caCertFile = path.join(work, 'fleet-ca.crt');
writeFileSync(caCertFile, ca.certificatePem);

console.log(`\n== Fleet: ${HOSTS} simulated hosts (mutual TLS), 2 replicas, PostgreSQL ==`);
const replicaPorts = [await freePort(), await freePort()];
const urls = replicaPorts.map((port) => `https://127.0.0.1:${port}`);
const admin: AuditActor = { id: 'bench-admin', name: 'admin@bench', roles: ['admin'] };
const enrolStarted = performance.now();
const hosts: SimulatedHost[] = [];
for (let start = 0; start < HOSTS; start += 25) {
  const batch = Array.from({ length: Math.min(25, HOSTS - start) }, (_, j) => start + j);
  hosts.push(
    ...(await Promise.all(
      batch.map(async (i) => {
        const hostId = `sim-${i}`;
        const { joinToken } = await registerHost(db, admin, { name: hostId, zone: ZONES[i % ZONES.length] });
        const keys = await newKeyPair();
        const grant = await enrolHost(db, ca, { joinToken, csr: await certificateRequestPem(keys, hostId) });
        return { hostId, keyPem: await privateKeyPem(keys.privateKey), certPem: grant.certificate, consoleUrl: urls[i % 2] };
      }),
    )),
  );
}
line('enrolment (join token + CSR + certificate, in-process), per host', `${((performance.now() - enrolStarted) / HOSTS).toFixed(1)} ms`);

const replicas = await Promise.all(
  replicaPorts.map((port, index) =>
    startReplicaProcess({
      name: `replica-${index}`,
      dir: path.join(work, `replica-${index}`),
      port,
      env: {
        DATABASE_URL: databaseUrl,
        HOTPLANE_FLEET_BIND: '127.0.0.1',
        HOTPLANE_FLEET_CA_FILE: caFile,
        HOTPLANE_TRUST_DOMAIN: 'hotplane.local',
        // Replicas sign checkpoints with one console key, as they share one CA (docs/fleet.md#replicas).
        HOTPLANE_CONSOLE_KEY: path.join(r.f.dataDir, 'console-key.pem'),
      },
    }),
  ),
);
const inputFile = path.join(work, 'simulator.json');
writeFileSync(inputFile, JSON.stringify({ hosts, caFile: caCertFile, reportEveryMs: REPORT_EVERY_MS, module: 'ledger' }), { mode: 0o600 });
const simulator = spawn(process.execPath, [...tsx, 'bench/support/fleet-simulator.ts', inputFile], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const applied = new Map<number, Map<string, number>>();
let stats: Extract<SimulatorMessage, { type: 'stats' }> = { type: 'stats', reportsOk: 0, reportsFailed: 0, pollsFailed: 0, lastError: null };
simulator.on('message', (message: SimulatorMessage) => {
  if (message.type === 'applied') {
    const byHost = applied.get(message.generation) ?? new Map<string, number>();
    applied.set(message.generation, byHost.set(message.hostId, message.at));
  } else if (message.type === 'stats') stats = message;
});

async function allHostsOn(generation: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  const have = () => [...applied.entries()].filter(([g]) => g >= generation).reduce((hostsSeen, [, byHost]) => new Set([...hostsSeen, ...byHost.keys()]), new Set<string>()).size;
  while (Date.now() < deadline) {
    if (have() >= HOSTS) return true;
    await sleep(50);
  }
  console.log(`  only ${have()} of ${HOSTS} hosts reached generation ${generation} (last simulator error: ${stats.lastError ?? 'none'})`);
  return false;
}

const connectStarted = Date.now();
const generation0 = (await db.fleetGeneration.findUniqueOrThrow({ where: { id: 1 } })).generation;
await allHostsOn(generation0, 120_000);
line(`all ${HOSTS} hosts connected and holding a long-poll`, `${((Date.now() - connectStarted) / 1000).toFixed(1)} s`);

console.log(`\n== Report intake and idle cost, ${SECONDS} s, 1 report/s per host ==`);
const cpuBefore = replicas.map((x) => cpuSeconds(x.pid));
const pgBefore = postgresCpuSeconds();
const simulatorBefore = cpuSeconds(simulator.pid!);
const okBefore = stats.reportsOk;
const failedBefore = stats.reportsFailed;
await sleep(SECONDS * 1000);
const consoleCpu = replicas.map((x, i) => cpuSeconds(x.pid) - cpuBefore[i]);
const consoleCores = consoleCpu.reduce((a, b) => a + b, 0) / SECONDS;
const reportsPerSecond = (stats.reportsOk - okBefore) / SECONDS;
line('reports accepted per second (both replicas)', reportsPerSecond.toFixed(0), `offered ${HOSTS}/s`);
line('reports refused or failed in the window', String(stats.reportsFailed - failedBefore), stats.lastError ? `last: ${stats.lastError.slice(0, 80)}` : '');
line('console CPU, both replicas together', `${consoleCores.toFixed(2)} cores`, `goal: ≤ 1 core at 1 report/s per host → ${consoleCores <= 1 ? 'met' : 'MISSED'}`);
reportGoal({ figure: `fleet: console CPU at 1 report/s from ${HOSTS} hosts`, measured: `${consoleCores.toFixed(2)} cores`, goal: '≤ 1 core', met: consoleCores <= 1 }, { alreadyPrinted: true });
line('console CPU per 1,000 hosts', `${((consoleCores / HOSTS) * 1000).toFixed(2)} cores`);
line('console CPU per report', `${((consoleCpu.reduce((a, b) => a + b, 0) / Math.max(1, stats.reportsOk - okBefore)) * 1000).toFixed(2)} ms`);
line('PostgreSQL CPU', `${((postgresCpuSeconds() - pgBefore) / SECONDS).toFixed(2)} cores`);
line(`simulator CPU (${HOSTS} TLS clients, not the console)`, `${((cpuSeconds(simulator.pid!) - simulatorBefore) / SECONDS).toFixed(2)} cores`);
replicas.forEach((x, i) => line(`replica ${i} memory (RSS)`, `${rssMiB(x.pid).toFixed(0)} MiB`));

console.log(`\n== Propagation of a desired-state change to all ${HOSTS} hosts (${CHANGES} changes) ==`);
const leaderIndex = (await replicas[0].leaseEpoch()) !== null ? 0 : 1;
const sameReplica: number[] = [];
const otherReplica: number[] = [];
let allReached = true;
for (let k = 0; k < CHANGES; k++) {
  const before = (await db.fleetGeneration.findUniqueOrThrow({ where: { id: 1 } })).generation;
  const proposed = await proposeWholeChange(db, r.operator.actor, {
    module: 'ledger',
    versions: [{ version: '1.0.0', weight: 100, isolation: 'process' }],
    requestTimeoutMs: 1_001 + k,
    reason: `fleet bench: propagation ${k + 1}`,
    submit: true,
  });
  await r.approve(proposed.id, proposed.digest);
  const started = await startRollout({ db, settings: r.settings, metrics: new FleetMetrics() }, r.operator.actor, proposed.id);
  if (!started.started) throw new Error(`${proposed.id} did not start: ${started.reason}`);
  // The leader's engine carries it out (preflight, then the write); the write's own time is where propagation starts.
  let row = await db.fleetGeneration.findUniqueOrThrow({ where: { id: 1 } });
  for (const deadline = Date.now() + 60_000; row.generation === before && Date.now() < deadline; await sleep(20)) row = await db.fleetGeneration.findUniqueOrThrow({ where: { id: 1 } });
  const writtenAt = row.updatedAt.getTime();
  allReached = (await allHostsOn(row.generation, 30_000)) && allReached;
  const seen = applied.get(row.generation) ?? new Map<string, number>();
  hosts.forEach((host, i) => {
    const at = seen.get(host.hostId);
    if (at !== undefined) (i % 2 === leaderIndex ? sameReplica : otherReplica).push(at - writtenAt);
  });
  await sleep(500);
}
const all = [...sameReplica, ...otherReplica];
const ms = (v: number) => `${Math.round(v)} ms`;
line('hosts on the replica that wrote it: p50 / p99', `${ms(percentile(sameReplica, 50))} / ${ms(percentile(sameReplica, 99))}`, `goal: p99 ≤ 200 ms → ${percentile(sameReplica, 99) <= 200 ? 'met' : 'MISSED'}`);
line('hosts on the other replica (NOTIFY): p50 / p99', `${ms(percentile(otherReplica, 50))} / ${ms(percentile(otherReplica, 99))}`, `goal: p99 ≤ 1 s → ${percentile(otherReplica, 99) <= 1000 ? 'met' : 'MISSED'}`);
line(`all ${HOSTS} hosts: p50 / p99 / max`, `${ms(percentile(all, 50))} / ${ms(percentile(all, 99))} / ${ms(Math.max(...all))}`, `goal: p99 ≤ 1 s to 1,000 hosts → ${percentile(all, 99) <= 1000 && allReached ? 'met' : 'MISSED'}`);
reportGoal({ figure: `fleet: desired-state propagation to ${HOSTS} hosts, p99`, measured: ms(percentile(all, 99)), goal: '≤ 1 s', met: percentile(all, 99) <= 1000 && allReached }, { alreadyPrinted: true });

simulator.disconnect();
await Promise.all(replicas.map((x) => x.stop()));
process.exit(0);
