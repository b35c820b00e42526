import { readFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { databaseLocked } from '../../server/db/lock-wait';
import { holdWriteLock } from '../../server/testing/sqlite-write-lock';
import { waitFor } from '../../server/testing/wait-for';
import { faultTraffic } from './fault-stats';
import { ledgerTotals, STABLE, type FaultContext, type FaultRow } from './fault-runs';

// The two outages of the fault proof: the host killed with SIGKILL while the operator changes weights, and the
// console's database write-locked by another process.

const OTHER = '1.0.0';
const SWAPS: readonly [number, number][] = [[100, 0], [70, 30], [40, 60], [10, 90], [50, 50]];

const generationOf = async (ctx: FaultContext) => (await ctx.f.db.fleetGeneration.findUniqueOrThrow({ where: { id: 1 } })).generation;

/** Running, not a zombie (PID 1 of a container often never reaps the orphans it inherits). */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * SIGKILL of the host while the operator changes the weights every 250 ms; the host is started again on the same
 * data folder with the console unreachable, so it must come back from its persisted desired state, and converge
 * on the console's latest once the console answers again.
 */
export async function hostKilledMidSwap(ctx: FaultContext): Promise<FaultRow> {
  let swapping = true;
  const swaps = (async () => {
    for (let i = 0; swapping; i++) {
      const [stable, other] = SWAPS[i % SWAPS.length];
      await ctx.c.setWeights({ [STABLE]: stable, [OTHER]: other });
      await sleep(250);
    }
  })();
  await waitFor('both versions serving', async () => (await ctx.host.status()).versions.filter((v) => v.phase === 'serving').length === 2);
  await sleep(1_300);
  const cells = (await ctx.host.status()).versions.map((v) => v.pid).filter((pid): pid is number => pid !== undefined);
  const onset = Date.now();
  await ctx.host.kill();
  swapping = false;
  await swaps;
  const consoleGeneration = await generationOf(ctx);
  const persisted = (JSON.parse(readFileSync(path.join(ctx.host.dataDir, 'desired-state.json'), 'utf8')) as { generation: number }).generation;
  await ctx.c.fleetDown();
  await sleep(500);
  const orphans = cells.filter(running);
  await ctx.host.restart();
  const restartedAt = Date.now();
  const restored = (await ctx.host.status()).generation;
  await sleep(1_000);
  await ctx.c.fleetUp();
  await waitFor('the host to catch up with the console', async () => (await ctx.host.status()).generation === consoleGeneration);
  await sleep(ctx.afterMs);
  const traffic = faultTraffic(ctx.load.records, { onset, end: Date.now(), beforeMs: ctx.beforeMs });
  const totals = await ledgerTotals(ctx.host);
  const intact = restored === persisted && orphans.length === 0 && totals.conserved;
  if (!intact) ctx.broke(`host kill: restored generation ${restored} (persisted ${persisted}), cells still running ${orphans.length}, totals ${totals.text}`);
  await ctx.c.setWeights({ [STABLE]: 100 });
  return {
    name: 'host SIGKILL mid-swap',
    onset,
    did: `killed with the console at generation ${consoleGeneration}, the host's persisted state at ${persisted}; its ${cells.length} cells saw their sockets close and exited; restarted on the same data folder in ${((restartedAt - onset) / 1000).toFixed(1)} s with the console unreachable, it served its persisted generation ${restored}, then caught up to ${consoleGeneration} when the console answered`,
    traffic,
    kept: `desired state intact (persisted ${persisted} = restored ${restored}); cells of the dead host still running: ${orphans.length}; ledger totals: ${totals.text} (balances live in the cells' memory and restart from hp_init's config with them)`,
    intact,
  };
}

/**
 * Another process holds the database's write lock for `holdMs` while the operator changes the weights and the host
 * reports (its reports write host rows, events and audit entries). Within the wait (10 s) the writes wait and go
 * through; beyond it they are refused whole, with a clear error, and nothing half-written stays behind.
 */
export async function databaseWriteLocked(ctx: FaultContext, holdMs: number): Promise<FaultRow> {
  const file = path.join(ctx.f.dataDir, 'hotplane.db');
  const generation = await generationOf(ctx);
  const lastSeq = (await ctx.f.db.auditEvent.findFirst({ orderBy: { seq: 'desc' } }))?.seq ?? 0;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const refusedReports = () => (ctx.host.log().match(/report: HTTP 503/g) ?? []).length;
  const refusedBefore = refusedReports();
  const onset = Date.now();
  const lock = await holdWriteLock(file, holdMs);
  lag.enable();
  const writeStarted = Date.now();
  const write = await ctx.c.setWeights({ [STABLE]: 90, '1.0.0': 10 }).then(() => null, (error: unknown) => error);
  const waitedMs = Date.now() - writeStarted;
  await lock.release();
  lag.disable();
  const released = Date.now();
  await sleep(ctx.afterMs);
  const refusal = write === null ? null : (databaseLocked(write)?.message ?? `unexpected: ${String(write)}`);
  const generationAfter = await generationOf(ctx);
  const appended = await ctx.f.db.auditEvent.count({ where: { seq: { gt: lastSeq } } });
  const desiredChanges = await ctx.f.db.auditEvent.count({ where: { action: 'runtime.desired_changed', seq: { gt: lastSeq } } });
  // Written whole or not at all: a generation step comes with its audit event and nothing else of the change.
  const consistent = generationAfter - generation === (refusal ? 0 : 1) && desiredChanges === (refusal ? 0 : 1);
  const expectRefusal = holdMs > 10_000;
  if (!consistent || Boolean(refusal) !== expectRefusal || refusal?.startsWith('unexpected')) {
    ctx.broke(`database lock ${holdMs} ms: write ${refusal ?? 'went through'}, generation ${generation} → ${generationAfter}, desired-state audit events ${desiredChanges}`);
  }
  await ctx.c.setWeights({ [STABLE]: 100 });
  const traffic = faultTraffic(ctx.load.records, { onset, end: Date.now(), beforeMs: ctx.beforeMs });
  const outcome = refusal ? `was refused after ${(waitedMs / 1000).toFixed(1)} s: "${refusal}"` : `waited ${(waitedMs / 1000).toFixed(1)} s for the lock and went through`;
  return {
    name: `database write-locked ${holdMs / 1000} s`,
    onset,
    did: `the operator's weight change ${outcome}; host reports refused with 503 meanwhile (each resent with the next): ${refusedReports() - refusedBefore}; the console's event loop stalled at most ${(lag.max / 1e6).toFixed(0)} ms while it waited; the host served on, never asking the database`,
    traffic,
    kept: `generation ${generation} → ${generationAfter} and ${appended} audit event(s) appended in ${((released - onset) / 1000 + ctx.afterMs / 1000).toFixed(0)} s, every change with its own event (none half-written)`,
    intact: consistent,
  };
}
