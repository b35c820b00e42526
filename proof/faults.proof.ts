// Faults under load: a real host process (server/host/main.ts) serving 300 requests a second of ledger traffic over
// loopback HTTP, a real console beside it (SQLite, artifact store, fleet routes, rollout engine), and one fault after
// another: canaries that crash, abort, hang, crawl, leak memory or descriptors; artifacts overwritten after
// acceptance; the store's disk full; the console's database write-locked by another process; the host killed with
// SIGKILL while weights change. For each: what the system did, requests failed by kind, latency before / during /
// after, time to recover, and that nothing was lost.
import { setTimeout as sleep } from 'node:timers/promises';
import { config } from '../server/config';
import { createAuditCheckpointer } from '../server/audit/checkpoints';
import { consoleAuditPublicKey } from '../server/audit/console-trail';
import { verifyAuditTrail } from '../server/audit/verify';
import { createConsoleFixture } from '../server/testing/console-fixture';
import { waitFor } from '../server/testing/wait-for';
import { LEDGER_ACCOUNTS, LEDGER_CONFIG, startFaultConsole } from './support/fault-console';
import { startFaultHost } from './support/fault-host';
import { startFaultLoad } from './support/fault-load';
import { databaseWriteLocked, hostKilledMidSwap } from './support/fault-outages';
import { canaryFault, diskFull, overwrittenArtifact, STABLE, CANARY_WEIGHT, type FaultContext, type FaultRow } from './support/fault-runs';
import { failurePlot, formatFailures, formatLatency, latencyPlot } from './support/fault-stats';
import { prepareStoreDisk } from './support/fault-storage';
import { markdownTable, startProof } from './support/proof-result';

const proof = startProof('faults', 'Faults under load');
const short = proof.result.short;
const RATE = 300;
const PHASES = short ? { warmMs: 2_000, beforeMs: 2_000, afterMs: 1_500 } : { warmMs: 4_000, beforeMs: 4_000, afterMs: 3_000 };
/** Held shorter than the console's 10 s wait for a write lock, then longer. */
const LOCKS_MS = [3_000, 12_000];
const CELL_CAPS = { memoryMiB: 256, openFiles: 256 };
const CANARIES: [string, string][] = [
  ['canary SIGSEGV', '1.2.4'],
  ['canary abort()', '1.2.13'],
  ['canary hang', '1.2.5'],
  ['canary slow (+250 ms a request)', '1.2.2'],
  ['canary memory leak (1 MiB a request)', '1.2.14'],
  ['canary descriptor leak (1 a request)', '1.2.15'],
];
/** The canaries, the full disk, the two overwritten artifacts, the database locks and the host kill. */
const FAULTS = CANARIES.length + 1 + 2 + LOCKS_MS.length + 1;
// Uploaded at the start, in ascending order; 1.2.15 (leak-fd) is the upload that meets the full disk.
const UPLOADS: [string, string][] = [
  ['1.0.0', 'standard'], [STABLE, 'standard'], ['1.2.2', 'slow'], ['1.2.3', 'error-prone'], ['1.2.4', 'crash'], ['1.2.5', 'hang'],
  ['1.2.13', 'abort'], ['1.2.14', 'leak-memory'],
];

const f = await createConsoleFixture();
const storeDir = config().artifactStoreDir;
const disk = prepareStoreDisk(storeDir);
const rows: FaultRow[] = [];
// Stopped in `finally`, so a run that breaks half-way leaves no host process or cells behind.
const running: { stop(): Promise<void> }[] = [];
try {
  const c = await startFaultConsole(f, { versions: UPLOADS, stable: STABLE });
  running.unshift(c);
  const host = await startFaultHost({
    root: process.cwd(), dataDir: `${f.dataDir}-host`, controlPlane: c.fleetOrigin, consoleCaFile: c.consoleCaFile, hostId: c.hostId, joinToken: c.joinToken,
    cellMemoryMiB: CELL_CAPS.memoryMiB, cellOpenFiles: CELL_CAPS.openFiles,
  });
  running.unshift(host);
  const hostPid = host.pid;
  await waitFor('the stable version serving', async () => (await host.status()).versions.some((v) => v.version === STABLE && v.phase === 'serving'));
  const load = startFaultLoad({ url: host.invokeUrl, perSecond: RATE, accounts: LEDGER_ACCOUNTS, clientTimeoutMs: 5_000 });
  running.unshift(load);
  const loadStarted = Date.now();
  await sleep(PHASES.warmMs);
  const ctx: FaultContext = { f, c, host, load, beforeMs: PHASES.beforeMs, afterMs: PHASES.afterMs, broke: (what) => proof.result.failures.push(what) };
  const run = async (what: string, fault: () => Promise<FaultRow>) => {
    console.log(`fault: ${what}`);
    try {
      rows.push(await fault());
    } catch (error) {
      ctx.broke(`${what}: ${(error as Error).stack ?? error}`);
    }
    await sleep(PHASES.beforeMs);
  };

  await run('disk full', () => diskFull(ctx, disk, storeDir, '1.2.15', 'leak-fd'));
  for (const [name, version] of CANARIES) await run(name, () => canaryFault(ctx, name, version));
  const hostSurvived = host.alive && host.pid === hostPid;
  const crashBuild = f.modulePath('ledger', '1.2.4', 'crash');
  await run('store copy overwritten', () => overwrittenArtifact(ctx, 'artifact overwritten in the store', '1.2.3', 'store', crashBuild));
  await run('host copy overwritten', () => overwrittenArtifact(ctx, 'artifact overwritten in the host cache', '1.2.2', 'host cache', crashBuild));
  for (const ms of LOCKS_MS) await run(`database locked ${ms} ms`, () => databaseWriteLocked(ctx, ms));
  await run('host killed', () => hostKilledMidSwap(ctx));
  await load.stop();

  await createAuditCheckpointer().checkpointNow(f.db);
  const audit = await verifyAuditTrail(f.db, { checkpointFile: config().checkpointFile, publicKey: consoleAuditPublicKey() });
  if (!audit.ok) ctx.broke(`the audit trail does not verify: ${JSON.stringify(audit.problems.slice(0, 3))}`);
  const records = load.records;
  const intact = rows.filter((r) => r.intact).length;

  proof.figure({ name: 'faults run under load', value: rows.length, goal: `${FAULTS} (every fault of the issue)`, met: rows.length === FAULTS });
  proof.figure({ name: 'faults after which nothing was lost', value: `${intact} of ${rows.length}`, goal: 'all', met: intact === rows.length });
  proof.figure({ name: 'host process survived every canary fault', value: hostSurvived ? 'yes' : 'no', goal: 'yes', met: hostSurvived });
  proof.figure({ name: 'audit trail verifies after the run', value: audit.ok ? `yes (${audit.eventsChecked} events)` : 'no', goal: 'yes', met: audit.ok });
  for (const r of rows) {
    proof.figure({ name: `${r.name}: failed requests`, value: r.traffic.failed, unit: `of ${r.traffic.sent}` });
    proof.figure({ name: `${r.name}: time to recover`, value: Number((r.traffic.recoveryMs / 1000).toFixed(2)), unit: 's' });
  }
  proof.figure({ name: 'requests sent in all', value: records.length });

  const markers = rows.map((r, i) => ({ x: (r.onset - loadStarted) / 1000, label: String(i + 1) }));
  proof.result.plots.push(
    { file: 'faults-latency.svg', svg: latencyPlot(records, loadStarted, markers), caption: 'Invoke latency (p50, p99 per half second, log scale) across the fault runs; the numbered dashed lines are the fault onsets of the table.' },
    { file: 'faults-failures.svg', svg: failurePlot(records, loadStarted, markers), caption: 'Failed requests per second across the fault runs, by the same numbered onsets.' },
  );
  proof.result.markdown = [
    `One runtime host process (\`hotplane host\`, each process cell capped at ${CELL_CAPS.memoryMiB} MiB of data and ${CELL_CAPS.openFiles} descriptors) takes ${RATE} requests a second over loopback HTTP (\`POST /v1/invoke/ledger\`, sent from a worker thread: half balances, 45 % transfers, a few totals, over ${LEDGER_ACCOUNTS.length} accounts of ${LEDGER_CONFIG.split('\n')[0].split(' ')[1]} each). Beside it, in the proof's process, a real console: SQLite database, artifact store, the hosts' routes served by the handlers Next mounts, and the rollout engine. ${STABLE} is the stable version. A faulty canary goes through the whole change flow (proposal, SM2 approval, preflight) and gets ${CANARY_WEIGHT} % of the traffic; the engine judges it every 0.5 s over 3 s windows.`,
    '',
    `**Onset** is the first request the fault touched (for a canary: the first one routed to it; otherwise the moment the fault was made). **Recovered** is when the last request it touched (failed, or answered by the faulty version) ended: from then on every request succeeded on healthy cells. Latency is p50 / p99 / p99.9 in ms of the requests sent in the ${PHASES.beforeMs / 1000} s before the onset, from onset to recovery, and from recovery to the end of the watch.`,
    '',
    markdownTable(
      ['#', 'Fault', 'Sent', 'Failed (by kind)', 'Before', 'During', 'After', 'Recovered in', 'Nothing lost'],
      rows.map((r, i) => [i + 1, r.name, r.traffic.sent, formatFailures(r.traffic), formatLatency(r.traffic.before), formatLatency(r.traffic.during), formatLatency(r.traffic.after), r.traffic.recoveryMs > 0 ? `${(r.traffic.recoveryMs / 1000).toFixed(2)} s` : 'nothing to recover', r.intact ? 'yes' : '**no**']),
    ),
    '',
    '### What the system did',
    '',
    ...rows.map((r, i) => `${i + 1}. **${r.name}**: ${r.did}. Checked: ${r.kept}.`),
    '',
    `The full disk was ${disk.how}. The audit trail (${audit.eventsChecked} events, every refusal and rollback of the run included) verifies against its signed checkpoints afterwards.`,
  ].join('\n');
} catch (error) {
  proof.result.failures.push(`the fault proof stopped: ${(error as Error).stack ?? error}`);
} finally {
  for (const part of running) await part.stop().catch((error: unknown) => proof.result.failures.push(`stopping the fault proof's parts: ${String(error)}`));
  disk.release();
}
proof.finish();
process.exit();
