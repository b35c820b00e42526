// Push by long-poll on loopback: N hosts (plain HTTP clients in this process) hold a desired-state long-poll each
// against the real handler and a real SQLite database. Measured: how long a committed change takes to reach all of
// them (p50/p99/max over every host and change), the tag reads the console did for it, and the CPU of an idle
// minute with all N waiting (console and clients together, so an upper bound for the console).
import { desiredStateWatch } from '../server/fleet/desired-changes';
import { serveDesiredState } from '../server/fleet/fleet-http';
import { FleetMetrics } from '../server/fleet/metrics-store';
import { serveFetchHandler } from '../server/fleet/test-http';
import { FLEET_PATHS } from '../server/protocol';
import { writeDesiredModule } from '../server/rollout/fleet-bridge';
import { createConsoleFixture } from '../server/testing/console-fixture';
import { waitFor } from '../server/testing/wait-for';
import { benchSize } from './support/goals';

const HOSTS = Number(process.env.HOSTS ?? benchSize(200, 10));
const CHANGES = Number(process.env.CHANGES ?? benchSize(10, 1));
const IDLE_MS = Number(process.env.IDLE_MS ?? benchSize(60_000, 1_000));
/** POLL_MS=250 measures the polling this replaced instead: every host asks every POLL_MS, unheld. */
const POLL_MS = Number(process.env.POLL_MS ?? 0);

const f = await createConsoleFixture();
const upload = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', '1.0.0'), module: 'ledger', version: '1.0.0' }));
if (upload.outcome !== 'accepted') throw new Error(upload.message);
const { sm3 } = await f.db.moduleVersion.findFirstOrThrow({ where: { version: '1.0.0' } });
// Plain HTTP to the handler itself (the mutual-TLS listener's cost is bench/fleet.bench.ts's): the watch is measured here.
const benchHost = { id: 'bench', name: 'bench', zone: 'default' };
const server = await serveFetchHandler((request) => serveDesiredState({ db: f.db, metrics: new FleetMetrics() }, benchHost, request));
const watch = desiredStateWatch(f.db);

let changedAt = 0;
const delays: number[] = [];
async function host() {
  let tag = '';
  for (;;) {
    if (POLL_MS && tag) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const response = await fetch(`${server.url}${FLEET_PATHS.desiredState}${tag && !POLL_MS ? '?wait=25' : ''}`, { headers: tag ? { 'if-none-match': tag } : {} });
    if (response.status === 200) {
      await response.arrayBuffer();
      if (tag) delays.push(performance.now() - changedAt);
      tag = response.headers.get('etag')!;
    } else if (response.status !== 304) throw new Error(`HTTP ${response.status}`);
  }
}

for (let i = 0; i < HOSTS; i++) void host();
let settleTicks = 0;
await waitFor(`${HOSTS} hosts waiting`, () => (POLL_MS ? delays.length === 0 && ++settleTicks > 20 : watch.waiting === HOSTS), { timeoutMs: 60_000 });
const readsBefore = watch.reads;
for (let i = 0; i < CHANGES; i++) {
  const expected = delays.length + HOSTS;
  await f.db.$transaction((tx) => writeDesiredModule(tx, f.actor, 'ledger', { module: 'ledger', versions: [{ version: '1.0.0', sm3, weight: 100, isolation: 'process', config: `change ${i}` }] }, null));
  changedAt = performance.now();
  await waitFor('every host answered', () => delays.length >= expected && (POLL_MS > 0 || watch.waiting === HOSTS), { everyMs: 5, timeoutMs: 30_000 });
}
const reads = watch.reads - readsBefore;

if (CHANGES > 0) {
  const sorted = delays.map((d) => Math.max(0, d)).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1);
  console.log(`${HOSTS} ${POLL_MS ? `hosts polling every ${POLL_MS} ms` : 'long-polling hosts'}, ${CHANGES} changes: propagation after commit p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`);
  console.log(`tag reads for ${CHANGES} changes: ${reads} (${(reads / CHANGES).toFixed(1)} per change, for all ${HOSTS} hosts)`);
}

// The last change's re-reads (desired-changes.ts) are over after 2 s.
await new Promise((resolve) => setTimeout(resolve, 3_000));
const cpuBefore = process.cpuUsage();
const idleReads = watch.reads;
await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
const cpu = process.cpuUsage(cpuBefore);
const perMinute = ((cpu.user + cpu.system) / 1000) * (60_000 / IDLE_MS);
console.log(`idle with ${HOSTS} ${POLL_MS ? 'polling' : 'waiting'}: ${perMinute.toFixed(0)} ms CPU per minute (console + clients), ${((watch.reads - idleReads) * 60_000) / IDLE_MS} tag reads per minute`);

// Exits without closing the server: a close would wait out the hosts' open long-polls (up to 25 s).
process.exit(0);
