import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { digestArtifactFile } from '../../server/crypto/digest';
import { artifactPaths } from '../../server/artifacts/store';
import type { ConsoleFixture } from '../../server/testing/console-fixture';
import { waitFor } from '../../server/testing/wait-for';
import { LEDGER_ACCOUNTS, OPENING_BALANCE, uploadLedger, type FaultConsole } from './fault-console';
import type { FaultHost } from './fault-host';
import type { FaultLoad } from './fault-load';
import { faultTraffic, succeeded, type FaultTraffic } from './fault-stats';
import { overwriteArtifact, storeListing, type StoreDisk } from './fault-storage';

// One fault each: bring it about under the running load, watch what the system does, measure the traffic around
// it, and check that nothing was lost. Shared by the canary faults, the artifact and the disk faults here and the
// outages (fault-outages.ts).

export const STABLE = '1.1.0';
export const CANARY_WEIGHT = 20;
const LEDGER_TOTAL = LEDGER_ACCOUNTS.length * OPENING_BALANCE;

export interface FaultContext {
  f: ConsoleFixture;
  c: FaultConsole;
  host: FaultHost;
  load: FaultLoad;
  /** The quiet stretch measured before each fault, and watched after its recovery. */
  beforeMs: number;
  afterMs: number;
  /** Things that broke (not goals missed): the proof fails with them. */
  broke(what: string): void;
}

export interface FaultRow {
  name: string;
  onset: number;
  /** What the system did, in words. */
  did: string;
  traffic: FaultTraffic;
  /** What was checked to be intact, in words. */
  kept: string;
  /** Whether all of that held. */
  intact: boolean;
}

/** Every serving version's ledger total, read with the admin pin: transfers move money, they never make or lose it. */
export async function ledgerTotals(host: FaultHost): Promise<{ text: string; conserved: boolean }> {
  const serving = (await host.status()).versions.filter((v) => v.phase === 'serving');
  const totals = await Promise.all(serving.map(async (v) => [v.version, (await host.pinned(v.version, 'total')).text] as const));
  const conserved = totals.length > 0 && totals.every(([, text]) => new RegExp(`^total ${LEDGER_TOTAL} in \\d+ accounts$`).test(text));
  return { text: totals.map(([version, text]) => `${version}: ${text}`).join('; '), conserved };
}

// Records arrive in the order their answers did: the earliest sent is not the first found.
function firstTouch(ctx: FaultContext, since: number, version: string): number {
  const sent = ctx.load.records.filter((r) => r.at >= since && (r.version === version || !succeeded(r))).map((r) => r.at);
  return sent.length > 0 ? Math.min(...sent) : since;
}

// "cell died (signal SIGSEGV; memory 256 MiB, 256 open files); last output: …" → "signal SIGSEGV".
const deathCause = (message: string) => /^cell died \(([^;)]+)/.exec(message)?.[1] ?? message.slice(0, 60);
const brief = (message: string) => message.replace(/; last output:[\s\S]*?(\)|$)/, ')').replace(/\s+/g, ' ').slice(0, 400);

/** A faulty version as a canary at CANARY_WEIGHT %, through the real rollout engine, until it is rolled back. */
export async function canaryFault(ctx: FaultContext, name: string, version: string): Promise<FaultRow> {
  const started = Date.now();
  const id = await ctx.c.startCanary(version, CANARY_WEIGHT);
  const done = await ctx.c.finished(id, 90_000);
  const decidedAt = Date.now();
  await waitFor(`${version} to leave the host`, async () => !(await ctx.host.status()).versions.some((v) => v.version === version && !['disposed', 'failed'].includes(v.phase)), { timeoutMs: 40_000 });
  await sleep(ctx.afterMs);
  const onset = firstTouch(ctx, started, version);
  const traffic = faultTraffic(ctx.load.records, { onset, end: Date.now(), beforeMs: ctx.beforeMs, touched: (r) => r.version === version || !succeeded(r) });
  const events = (await ctx.host.status()).events.filter((e) => e.version === version && Date.parse(e.time) >= started);
  const deaths = events.filter((e) => e.kind === 'crashed');
  const shed = ctx.load.records.filter((r) => r.at >= onset && r.kind === '503').length;
  const totals = await ledgerTotals(ctx.host);
  if (done.state !== 'RolledBack') ctx.broke(`${name}: the canary ended ${done.state}, not rolled back`);
  if (!totals.conserved) ctx.broke(`${name}: ledger totals after it: ${totals.text}`);
  if (!ctx.host.alive) ctx.broke(`${name}: the host process died`);
  const died = deaths.length > 0 ? `${deaths.length} cell death(s) (${[...new Set(deaths.map((e) => deathCause(e.message)))].join(', ')}), each replaced or routed around; ` : '';
  const refused = shed > 0 ? `${shed} requests refused unsent as overloaded (503); ` : '';
  return {
    name,
    onset,
    did: `${died}${refused}rollout ${id} ${done.state} ${((decidedAt - onset) / 1000).toFixed(1)} s after the first canary request: ${brief(done.outcome?.message ?? '')}`,
    traffic,
    kept: `${ctx.host.alive ? 'the host process lived on' : 'the host process died'} (pid ${ctx.host.pid}); ledger totals after: ${totals.text}`,
    intact: totals.conserved && done.state === 'RolledBack' && ctx.host.alive,
  };
}

/**
 * An accepted artifact whose bytes are replaced afterwards: in the console's store (the host's download is refused
 * on arrival), or in the host's own cache (its SM3 re-verify right before loading refuses it). Either way the
 * operator's 10 % of it must never be served.
 */
export async function overwrittenArtifact(ctx: FaultContext, name: string, version: string, where: 'store' | 'host cache', withBytesOf: string): Promise<FaultRow> {
  const row = await ctx.f.db.moduleVersion.findFirstOrThrow({ where: { moduleName: 'ledger', version } });
  const file = where === 'store' ? row.storePath : path.join(ctx.host.dataDir, 'artifacts', `${row.sm3}.so`);
  overwriteArtifact(file, withBytesOf);
  const onset = Date.now();
  // The change request's preflight re-hashes the store copy before any host is told: a change to bytes that are not
  // the approved ones ends Failed there. A tampered host cache only shows when the host loads it.
  const refusedByPreflight = await ctx.c.setWeights({ [STABLE]: 100 - 10, [version]: 10 }).then(() => null, (error: Error) => error.message);
  const failed = refusedByPreflight
    ? { reason: refusedByPreflight }
    : await waitFor(`${version} to be refused`, async () => (await ctx.host.status()).versions.find((v) => v.version === version && v.phase === 'failed'));
  await sleep(ctx.afterMs);
  const served = ctx.load.records.filter((r) => r.at >= onset && r.version === version).length;
  const recorded = await ctx.f.db.hostEvent.count({ where: { version, kind: 'load-failed', time: { gte: new Date(onset - 1000) } } });
  await ctx.c.setWeights({ [STABLE]: 100 });
  const traffic = faultTraffic(ctx.load.records, { onset, end: Date.now(), beforeMs: ctx.beforeMs });
  if (served > 0) ctx.broke(`${name}: the overwritten ${version} answered ${served} requests`);
  return {
    name,
    onset,
    did: refusedByPreflight
      ? `the change request giving ${version} 10 % failed its preflight, so no host was told to load it: ${brief(refusedByPreflight)}; ${STABLE} kept all the traffic`
      : `${version} failed to load: ${brief(failed.reason ?? '')}; ${STABLE} kept all the traffic; the host reported the refusal (${recorded} load-failed event(s) in the console)`,
    traffic,
    kept: `requests answered by the overwritten ${version}: ${served}${where === 'host cache' ? '; the bad cached copy was removed, so the next load fetches the store copy again' : ''}`,
    intact: served === 0 && (recorded > 0 || refusedByPreflight !== null),
  };
}

/**
 * An upload while the artifact store's disk is full (it fills up half-way: the .so fits, its manifest does not),
 * then the same upload once space is back.
 */
export async function diskFull(ctx: FaultContext, disk: StoreDisk, storeDir: string, version: string, variant: string): Promise<FaultRow> {
  const name = `store disk full (upload of ${version})`;
  const so = ctx.f.modulePath('ledger', version, variant);
  const { sm3 } = await digestArtifactFile(so);
  const before = storeListing(storeDir);
  const onset = Date.now();
  disk.fill(`${artifactPaths(storeDir, sm3).manifest}.tmp-${process.pid}`);
  const refusal = await uploadLedger(ctx.f, version, variant).then((r) => `not refused: ${r.outcome}`, (error: Error) => error.message);
  const leftovers = storeListing(storeDir).filter((f) => !before.includes(f));
  const rows = await ctx.f.db.moduleVersion.count({ where: { version } });
  const reports = await ctx.f.db.verificationReport.count({ where: { version } });
  const tempDir = path.join(ctx.f.dataDir, 'tmp');
  const temp = existsSync(tempDir) ? readdirSync(tempDir) : [];
  disk.free();
  const retried = await uploadLedger(ctx.f, version, variant);
  await sleep(ctx.afterMs);
  const traffic = faultTraffic(ctx.load.records, { onset, end: Date.now(), beforeMs: ctx.beforeMs });
  const clean = leftovers.length === 0 && rows === 0 && reports === 0 && temp.length === 0 && /^no space left/.test(refusal);
  if (!clean) ctx.broke(`${name}: refusal "${refusal}", new store files ${leftovers.join(', ') || 'none'}, version rows ${rows}, reports ${reports}, temp files ${temp.length}`);
  if (retried.outcome !== 'accepted') ctx.broke(`${name}: the retry was ${retried.outcome}: ${retried.message}`);
  return {
    name,
    onset,
    did: `the upload of ${version} was refused: "${refusal}"; after the space came back the same upload was ${retried.outcome}`,
    traffic,
    kept: `new files in the store after the refusal: ${leftovers.length}; temporary upload files: ${temp.length}; version rows: ${rows}; verification reports: ${reports}`,
    intact: clean && retried.outcome === 'accepted',
  };
}
