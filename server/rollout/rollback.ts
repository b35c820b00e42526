import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { ChangeRequest } from '../db/generated/client';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { versionRefusal } from '../artifacts/version-validity';
import type { DesiredModule } from '../protocol';
import type { RolloutOutcome } from './change-request.types';
import { readDesiredModule, stableVersionOf } from './fleet-bridge';
import { activeRolloutOf } from './operate';
import { openReview } from './reviews';
import type { RolloutSettings } from './settings';
import { rollBack, type Transition } from './transitions';
import { desiredOf, revertWholeChange, storedDesired, withoutHandOff } from './whole-change';
import { withdrawnRunningVersions } from './withdrawn-running';

// Break-glass for on-call and operators: the one change of what runs that needs no prior approval, so it can only
// move toward what was approved before. During a rollout it sends the canary to 0 % (the rollout's own
// rollback; a preflight is just stopped). Otherwise it undoes the last promoted change request: back to the
// stable version an upgrade replaced (still warm inside the rollback window, reloaded after it), or to the
// settings a settings change replaced. Anything else — a version no promotion ever left as the stable, a first
// version, a state nobody promoted — is refused with the reason, and the refusal is audited. Every break-glass
// opens a post-incident review with a deadline (reviews.ts).

export type RollbackPlan =
  | { kind: 'rollout'; request: ChangeRequest; from: string; to: string; warm: true }
  | { kind: 'promoted'; request: ChangeRequest; from: string; to: string; warm: boolean }
  | { kind: 'settings'; request: ChangeRequest; from: string; to: string; warm: true }
  | { kind: 'none'; why: string };

const PROPOSE_INSTEAD = 'propose a change request for anything else';

/** Where a break-glass of `module` would go right now, and whether that version is still loaded. */
export async function planRollback(tx: DbTransaction, module: string, desired?: DesiredModule | null): Promise<RollbackPlan> {
  const current = desired === undefined ? await readDesiredModule(tx, module) : desired;
  const active = await activeRolloutOf(tx, module);
  if (active) return { kind: 'rollout', request: active, from: active.toVersion, to: active.fromVersion || 'nothing', warm: true };
  if (!current) return { kind: 'none', why: `${module} runs nowhere` };
  const promotion = await tx.changeRequest.findFirst({ where: { module, state: 'Promoted' }, orderBy: { promotedAt: 'desc' } });
  if (!promotion) {
    return { kind: 'none', why: `no change request promoted what ${module} runs, so there is no last promoted stable version to go back to; ${PROPOSE_INSTEAD}` };
  }
  if (promotion.kind === 'settings') {
    if (storedDesired(withoutHandOff(current)) !== promotion.desiredAfter) {
      return { kind: 'none', why: `${module} no longer runs what ${promotion.id} set; ${PROPOSE_INSTEAD}` };
    }
    for (const version of desiredOf(promotion).before?.versions ?? []) {
      const found = await tx.moduleVersion.findUnique({ where: { moduleName_version: { moduleName: module, version: version.version } }, include: { signer: true } });
      const invalid = found ? versionRefusal(found) : `${module} ${version.version} is gone from the registry`;
      if (invalid) return { kind: 'none', why: `what ran before ${promotion.id} cannot run again: ${invalid}; ${PROPOSE_INSTEAD}` };
    }
    return { kind: 'settings', request: promotion, from: `${promotion.toVersion} as ${promotion.id} set it`, to: `${promotion.fromVersion} as before ${promotion.id}`, warm: true };
  }
  if (promotion.kind !== 'upgrade') {
    return { kind: 'none', why: `${promotion.id} put ${module} ${promotion.toVersion} live as its first version: there is no earlier stable version to go back to; ${PROPOSE_INSTEAD}` };
  }
  const stable = stableVersionOf(current);
  if (stable?.version !== promotion.toVersion) {
    return { kind: 'none', why: `${module} no longer runs ${promotion.toVersion} alone as ${promotion.id} left it; ${PROPOSE_INSTEAD}` };
  }
  const loaded = current.versions.some((v) => v.version === promotion.fromVersion);
  const previous = await tx.moduleVersion.findUnique({ where: { moduleName_version: { moduleName: module, version: promotion.fromVersion } }, include: { signer: true } });
  // A withdrawn or expired version is never a break-glass target, even while it is still loaded.
  const invalid = previous ? versionRefusal(previous) : `${module} ${promotion.fromVersion} is gone from the registry`;
  if (invalid) return { kind: 'none', why: `the stable before ${promotion.id} cannot run again: ${invalid}; ${PROPOSE_INSTEAD}` };
  return { kind: 'promoted', request: promotion, from: stable.version, to: promotion.fromVersion, warm: loaded };
}

export interface OneClickResult {
  module: string;
  from: string;
  to: string;
  warm: boolean;
  generation: number | null;
  changeRequestId: string | null;
  reviewId: string;
  reviewDueAt: Date;
}

async function refuseBreakGlass(db: Db, actor: AuditActor, input: { module: string; reason: string }, why: string): Promise<never> {
  await db.$transaction((tx) =>
    appendAuditEvent(tx, { actor, action: 'breakglass.refused', targetType: 'module', targetId: input.module, details: { reason: input.reason, why } }),
  );
  throw new DomainError(DomainErrorCode.Conflict, `break-glass refused: ${why}`);
}

export async function rollbackModule(db: Db, actor: AuditActor, input: { module: string; reason: string }, settings: RolloutSettings, now = Date.now()): Promise<OneClickResult> {
  const result = await db.$transaction(async (tx) => {
    const plan = await planRollback(tx, input.module);
    if (plan.kind === 'none') return plan;
    const outcome: RolloutOutcome = {
      trigger: 'one-click',
      message: `break-glass to ${plan.to} by ${actor.name}: ${input.reason}`,
      by: { id: actor.id, name: actor.name },
      reason: input.reason,
    };
    return executeRollback({ tx, actor, now, settings }, input.module, plan, outcome, input.reason);
  });
  if ('why' in result) return refuseBreakGlass(db, actor, input, result.why);
  return result;
}

export type PossibleRollback = Exclude<RollbackPlan, { kind: 'none' }>;

/** Carries out a planned break-glass inside the caller's transaction and opens its post-incident review. */
export async function executeRollback(t: Transition, module: string, plan: PossibleRollback, outcome: RolloutOutcome, reason: string): Promise<OneClickResult> {
  // Stopping a preflight serves nothing and rolls nothing back: it is an abort.
  const { generation } =
    plan.kind === 'settings'
      ? await revertWholeChange(t, plan.request, outcome)
      : await rollBack(t, plan.request, plan.request.state === 'Preflight' ? 'abort' : 'rollback', outcome);
  const review = await openReview(
    t.tx,
    t.actor,
    { module, changeRequestId: plan.request.id, from: plan.from, to: plan.to, warm: plan.warm, generation, reason },
    t.now,
    t.settings.reviewDeadlineMs,
  );
  return { module, from: plan.from, to: plan.to, warm: plan.warm, generation, changeRequestId: plan.request.id, reviewId: review.id, reviewDueAt: review.dueAt! };
}

/** The version a planned break-glass gives all traffic to (a settings change's: the one alone at 100 % before it). */
export function rollbackTargetVersion(plan: PossibleRollback): string | null {
  if (plan.kind !== 'settings') return plan.request.fromVersion || null;
  return desiredOf(plan.request).before?.versions.find((v) => v.weight === 100)?.version ?? null;
}

/** One row per module for the on-call screen: what runs, where a rollback would go, and whether it is warm. */
export async function rollbackTargets(db: Db) {
  return db.$transaction(async (tx) => {
    const modules = await tx.desiredModule.findMany({ orderBy: { module: 'asc' }, select: { module: true } });
    const rows = [];
    for (const { module } of modules) {
      const desired = await readDesiredModule(tx, module);
      const plan = await planRollback(tx, module, desired);
      rows.push({
        module,
        versions: desired?.versions.map((v) => ({ version: v.version, weight: v.weight })) ?? [],
        rollback: plan.kind === 'none' ? { possible: false as const, why: plan.why } : { possible: true as const, from: plan.from, to: plan.to, warm: plan.warm },
        activeChangeRequest: plan.kind === 'rollout' ? { id: plan.request.id, state: plan.request.state } : null,
        withdrawn: await withdrawnRunningVersions(tx, desired),
      });
    }
    return rows;
  });
}
