import { canonicalJson } from '../audit/canonical-json';
import { clusterBus } from '../cluster/cluster-bus';
import type { DesiredModule as DesiredModuleRow } from '../db/generated/client';
import type { DbTransaction } from '../db/client';
import { lockRow } from '../db/row-locks';
import type { DesiredModule, DesiredState, DesiredVersion } from '../protocol';
import { nudgeDesiredStateWatch } from './desired-changes';
import { recordDesiredVersionChanges } from './desired-history';

// The fleet-wide desired state: one DesiredModule row per module and one generation counter, raised by
// every change, so a host can tell "nothing new" from a single number (the ETag of GET /api/fleet/desired-state).

const GENERATION_ROW = 1;

export function desiredModuleOf(row: DesiredModuleRow): DesiredModule {
  const desired: DesiredModule = { module: row.module, versions: JSON.parse(row.versions) as DesiredVersion[] };
  if (row.requestTimeoutMs !== null) desired.requestTimeoutMs = row.requestTimeoutMs;
  if (row.drainDeadlineMs !== null) desired.drainDeadlineMs = row.drainDeadlineMs;
  if (row.handOff !== null) desired.handOff = JSON.parse(row.handOff) as DesiredModule['handOff'];
  return desired;
}

export async function currentGeneration(db: DbTransaction): Promise<number> {
  const row = await db.fleetGeneration.findUniqueOrThrow({ where: { id: GENERATION_ROW } });
  return row.generation;
}

// Read in one transaction so the generation always names exactly the modules returned with it.
export async function readDesiredState(tx: DbTransaction): Promise<DesiredState> {
  // On PostgreSQL no change commits between reading the generation and the modules (server/db/row-locks.ts).
  await lockRow(tx, 'FleetGeneration', GENERATION_ROW, 'SHARE');
  const [generation, rows] = await Promise.all([currentGeneration(tx), tx.desiredModule.findMany({ orderBy: { module: 'asc' } })]);
  return { generation, modules: rows.map(desiredModuleOf) };
}

export async function readDesiredModule(tx: DbTransaction, module: string): Promise<DesiredModule | null> {
  const row = await tx.desiredModule.findUnique({ where: { module } });
  return row ? desiredModuleOf(row) : null;
}

// Key order and absent-vs-undefined fields must not make two equal states look different.
function sameDesired(a: DesiredModule | null, b: DesiredModule | null): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export interface DesiredChange {
  changed: boolean;
  generation: number;
  before: DesiredModule | null;
  after: DesiredModule | null;
}

/**
 * Replaces one module's desired state (null removes the module) inside the caller's transaction and raises the
 * generation when anything changed. Re-applying the same state changes nothing, so it records nothing either;
 * the caller appends its own audit event when `changed`.
 */
export async function replaceDesiredModule(tx: DbTransaction, module: string, after: DesiredModule | null, updatedBy: string): Promise<DesiredChange> {
  // On PostgreSQL concurrent changes run one after another, each seeing the last (server/db/row-locks.ts).
  await lockRow(tx, 'FleetGeneration', GENERATION_ROW);
  const before = await readDesiredModule(tx, module);
  if (sameDesired(before, after)) return { changed: false, generation: await currentGeneration(tx), before, after };
  const now = new Date();
  if (after) {
    const data = {
      versions: JSON.stringify(after.versions),
      requestTimeoutMs: after.requestTimeoutMs ?? null,
      drainDeadlineMs: after.drainDeadlineMs ?? null,
      handOff: after.handOff ? JSON.stringify(after.handOff) : null,
      updatedAt: now,
      updatedBy,
    };
    await tx.desiredModule.upsert({ where: { module }, create: { module, ...data }, update: data });
  } else {
    await tx.desiredModule.delete({ where: { module } });
  }
  await recordDesiredVersionChanges(tx, module, before, after, now);
  const raised = await tx.fleetGeneration.update({ where: { id: GENERATION_ROW }, data: { generation: { increment: 1 }, updatedAt: now } });
  // Waiting hosts learn it once the transaction commits: this replica's from its watch (which reads again until it
  // sees the commit), every other replica's through the cluster bus (server/cluster/bus.ts).
  await clusterBus().publish(tx, 'desired_changed', { generation: raised.generation });
  nudgeDesiredStateWatch();
  return { changed: true, generation: raised.generation, before, after };
}
