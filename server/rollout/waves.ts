import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import type { RolloutPlan } from './change-request.types';

// Which zones a rollout's canary runs in (docs/rollouts.md#waves). A plan without waves is one wave of the whole
// fleet: the canary is written to the fleet-wide desired state, exactly as before zones existed.

/** Zones that have at least one unrevoked host. */
export async function knownZones(db: Db | DbTransaction): Promise<string[]> {
  const rows = await db.host.findMany({ where: { revokedAt: null }, distinct: ['zone'], select: { zone: true }, orderBy: { zone: 'asc' } });
  return rows.map((r) => r.zone);
}

/** Refuses a plan whose waves name a zone no unrevoked host is in (a typo would otherwise wait for hosts that never come). */
export async function checkWaves(db: Db | DbTransaction, plan: RolloutPlan): Promise<void> {
  if (!plan.waves) return;
  const known = new Set(await knownZones(db));
  const unknown = plan.waves.flat().filter((zone) => !known.has(zone));
  if (unknown.length > 0) {
    throw new DomainError(
      DomainErrorCode.InvalidInput,
      `the waves name ${unknown.map((z) => `"${z}"`).join(', ')}, which no host is in; known zones: ${[...known].join(', ') || 'none'} (set a host's zone on the Hosts page)`,
    );
  }
}

/** The zones of wave `index`, or null when the plan has no waves (the whole fleet). */
export function waveZones(plan: RolloutPlan, index: number): string[] | null {
  return plan.waves ? plan.waves[index] : null;
}

/** Every zone the canary has reached by wave `index` (earlier waves stay on it), or null for the whole fleet. */
export function canaryZones(plan: RolloutPlan, index: number): string[] | null {
  return plan.waves ? plan.waves.slice(0, index + 1).flat() : null;
}

export function waveCount(plan: RolloutPlan): number {
  return plan.waves?.length ?? 1;
}

/** "wave 2 of 3 (zone-b, zone-c)", or "" without waves. */
export function waveLabel(plan: RolloutPlan, index: number): string {
  return plan.waves ? `wave ${index + 1} of ${plan.waves.length} (${plan.waves[index].join(', ')})` : '';
}
