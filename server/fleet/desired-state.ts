import { canonicalJson } from '../audit/canonical-json';
import { clusterBus } from '../cluster/cluster-bus';
import type { DesiredModule as DesiredModuleRow } from '../db/generated/client';
import type { DbTransaction } from '../db/client';
import { lockRow } from '../db/row-locks';
import type { DesiredModule, DesiredState, DesiredVersion } from '../protocol';
import { nudgeDesiredStateWatch } from './desired-changes';
import { recordDesiredVersionChanges } from './desired-history';

// The desired state: one fleet-wide DesiredModule row per module, DesiredZoneModule rows overriding a module's
// versions in one zone while a rollout runs in waves, and one generation counter raised by every change of either,
// so a host can tell "nothing new" from a single number (the ETag of GET /api/fleet/desired-state). A host's state
// is its zone's rows over the fleet-wide ones.

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

interface ZoneOverride {
  versions: string;
  handOff: string | null;
}

// A zone's row replaces the module's versions and hand-off; timeouts stay the fleet's.
function overridden(fleet: DesiredModule, zone: ZoneOverride | undefined): DesiredModule {
  if (!zone) return fleet;
  const desired: DesiredModule = { ...fleet, versions: JSON.parse(zone.versions) as DesiredVersion[] };
  if (zone.handOff !== null) desired.handOff = JSON.parse(zone.handOff) as DesiredModule['handOff'];
  else delete desired.handOff;
  return desired;
}

/**
 * The state a host of `zone` is sent (the fleet-wide rows without one). Read in one transaction so the
 * generation always names exactly the modules returned with it.
 */
export async function readDesiredState(tx: DbTransaction, zone?: string): Promise<DesiredState> {
  // On PostgreSQL no change commits between reading the generation and the modules (server/db/row-locks.ts).
  await lockRow(tx, 'FleetGeneration', GENERATION_ROW, 'SHARE');
  const [generation, rows, overrides] = await Promise.all([
    currentGeneration(tx),
    tx.desiredModule.findMany({ orderBy: { module: 'asc' } }),
    zone === undefined ? [] : tx.desiredZoneModule.findMany({ where: { zone } }),
  ]);
  const byModule = new Map(overrides.map((o) => [o.module, o]));
  return { generation, modules: rows.map((row) => overridden(desiredModuleOf(row), byModule.get(row.module))) };
}

/** One module's fleet-wide state, or `zone`'s when given. */
export async function readDesiredModule(tx: DbTransaction, module: string, zone?: string): Promise<DesiredModule | null> {
  const [row, override] = await Promise.all([
    tx.desiredModule.findUnique({ where: { module } }),
    zone === undefined ? null : tx.desiredZoneModule.findUnique({ where: { zone_module: { zone, module } } }),
  ]);
  return row ? overridden(desiredModuleOf(row), override ?? undefined) : null;
}

/** Every zone's own state of the module (zones without a row run the fleet-wide one). */
export async function readZoneOverrides(tx: DbTransaction, module: string): Promise<Map<string, DesiredModule>> {
  const [row, overrides] = await Promise.all([tx.desiredModule.findUnique({ where: { module } }), tx.desiredZoneModule.findMany({ where: { module }, orderBy: { zone: 'asc' } })]);
  if (!row) return new Map();
  const fleet = desiredModuleOf(row);
  return new Map(overrides.map((o) => [o.zone, overridden(fleet, o)]));
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
  return { changed: true, generation: await raiseGeneration(tx, now), before, after };
}

async function raiseGeneration(tx: DbTransaction, now: Date): Promise<number> {
  const raised = await tx.fleetGeneration.update({ where: { id: GENERATION_ROW }, data: { generation: { increment: 1 }, updatedAt: now } });
  // Waiting hosts learn it once the transaction commits: this replica's from its watch (which reads again until it
  // sees the commit), every other replica's through the cluster bus (server/cluster/bus.ts).
  await clusterBus().publish(tx, 'desired_changed', { generation: raised.generation });
  nudgeDesiredStateWatch();
  return raised.generation;
}

/**
 * Sets one zone's own versions of a module that has a fleet-wide row (null removes the zone's row, so the zone runs
 * the fleet-wide state again), raising the generation when anything changed. The caller audits when `changed`.
 */
export async function replaceZoneModule(tx: DbTransaction, zone: string, module: string, after: DesiredModule | null, updatedBy: string): Promise<DesiredChange> {
  await lockRow(tx, 'FleetGeneration', GENERATION_ROW);
  const before = await readDesiredModule(tx, module, zone);
  if (!before) throw new Error(`${module} has no fleet-wide desired state for zone ${zone} to override`);
  const effective = after ?? (await readDesiredModule(tx, module));
  if (sameDesired(before, effective)) return { changed: false, generation: await currentGeneration(tx), before, after: effective };
  const now = new Date();
  if (after) {
    const data = { versions: JSON.stringify(after.versions), handOff: after.handOff ? JSON.stringify(after.handOff) : null, updatedAt: now, updatedBy };
    await tx.desiredZoneModule.upsert({ where: { zone_module: { zone, module } }, create: { zone, module, ...data }, update: data });
  } else {
    await tx.desiredZoneModule.deleteMany({ where: { zone, module } });
  }
  await recordDesiredVersionChanges(tx, module, before, effective, now);
  return { changed: true, generation: await raiseGeneration(tx, now), before, after: effective };
}

