import { randomUUID } from 'node:crypto';
import semver from 'semver';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { ChangeRequest } from '../db/generated/client';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { versionRefusal } from '../artifacts/version-validity';
import type { DesiredModule, DesiredVersion } from '../host/types';
import type { RolloutOutcome } from './change-request.types';
import { allTrafficTo, readDesiredModule, stableVersionOf, writeDesiredModule } from './fleet-bridge';
import { activeRolloutOf } from './operate';
import type { RolloutSettings } from './settings';
import { rollBack, type Transition } from './transitions';
import { enqueueWebhookEvent } from './webhooks';
import { withdrawnRunningVersions } from './withdrawn-running';

// One-click rollback for on-call: no approval, no steps, no analysis. During a rollout it is the rollout's own
// rollback; after a promotion it returns to the previous stable (still warm inside the rollback window, reloaded
// after it); with no rollout behind the current version it returns to the accepted version just below it. Every
// one opens a post-incident review that an approver acknowledges.

export type RollbackPlan =
  | { kind: 'rollout'; request: ChangeRequest; from: string; to: string; warm: true }
  | { kind: 'promoted'; request: ChangeRequest; from: string; to: string; warm: boolean }
  | { kind: 'registry'; from: string; to: string; warm: boolean; target: DesiredVersion }
  | { kind: 'none'; why: string };

async function lastPromotionOf(tx: DbTransaction, module: string, version: string) {
  return tx.changeRequest.findFirst({ where: { module, toVersion: version, state: 'Promoted' }, orderBy: { promotedAt: 'desc' } });
}

async function acceptedBelow(tx: DbTransaction, module: string, version: string) {
  const versions = await tx.moduleVersion.findMany({ where: { moduleName: module, status: 'accepted' }, include: { signer: true } });
  return versions.filter((v) => semver.valid(v.version) && semver.lt(v.version, version) && versionRefusal(v) === null).sort((a, b) => semver.rcompare(a.version, b.version))[0] ?? null;
}

/** Where a rollback of `module` would go right now, and whether that version is still loaded. */
export async function planRollback(tx: DbTransaction, module: string, desired?: DesiredModule | null): Promise<RollbackPlan> {
  const current = desired === undefined ? await readDesiredModule(tx, module) : desired;
  const active = await activeRolloutOf(tx, module);
  if (active) return { kind: 'rollout', request: active, from: active.toVersion, to: active.fromVersion, warm: true };
  const stable = stableVersionOf(current);
  if (!stable) return { kind: 'none', why: `${module} has no version taking all of its traffic` };
  const loaded = (version: string) => current?.versions.some((v) => v.version === version) ?? false;
  const promotion = await lastPromotionOf(tx, module, stable.version);
  if (promotion) {
    const previous = await tx.moduleVersion.findUnique({ where: { moduleName_version: { moduleName: module, version: promotion.fromVersion } }, include: { signer: true } });
    // A withdrawn or expired version is never a rollback target, even while it is still loaded.
    if (previous && versionRefusal(previous) === null) {
      return { kind: 'promoted', request: promotion, from: stable.version, to: promotion.fromVersion, warm: loaded(promotion.fromVersion) };
    }
  }
  const below = await acceptedBelow(tx, module, stable.version);
  if (!below) return { kind: 'none', why: `no accepted version of ${module} below ${stable.version} to return to` };
  const warmEntry = current?.versions.find((v) => v.version === below.version);
  const target: DesiredVersion = warmEntry ?? { version: below.version, sm3: below.sm3, weight: 100, isolation: below.goRuntime ? 'process' : stable.isolation };
  if (!warmEntry && stable.config) target.config = stable.config;
  return { kind: 'registry', from: stable.version, to: below.version, warm: Boolean(warmEntry), target };
}

export interface OneClickResult {
  module: string;
  from: string;
  to: string;
  warm: boolean;
  generation: number | null;
  changeRequestId: string | null;
  reviewId: string;
}

export async function rollbackModule(db: Db, actor: AuditActor, input: { module: string; reason: string }, settings: RolloutSettings, now = Date.now()): Promise<OneClickResult> {
  return db.$transaction(async (tx) => {
    const t: Transition = { tx, actor, now, settings };
    const plan = await planRollback(tx, input.module);
    if (plan.kind === 'none') throw new DomainError(DomainErrorCode.Conflict, `nothing to roll back to: ${plan.why}`);
    const outcome: RolloutOutcome = {
      trigger: 'one-click',
      message: `rolled back to ${plan.to} by ${actor.name}: ${input.reason}`,
      by: { id: actor.id, name: actor.name },
      reason: input.reason,
    };
    let generation: number | null;
    let changeRequestId: string | null = null;
    if (plan.kind === 'registry') {
      const current = await readDesiredModule(tx, input.module);
      generation = (await writeDesiredModule(tx, actor, input.module, allTrafficTo(current, input.module, plan.target, plan.from), null)).generation;
      await appendAuditEvent(tx, {
        actor,
        action: 'module.rolled_back',
        targetType: 'module',
        targetId: input.module,
        details: { from: plan.from, to: plan.to, warm: plan.warm, generation, reason: input.reason },
      });
      await enqueueWebhookEvent(tx, 'rolled-back', { module: input.module, from: plan.from, to: plan.to, trigger: 'one-click', message: outcome.message });
    } else {
      changeRequestId = plan.request.id;
      // Stopping a preflight serves nothing and rolls nothing back: it is an abort.
      const event = plan.request.state === 'Preflight' ? 'abort' : 'rollback';
      generation = (await rollBack(t, plan.request, event, outcome)).generation;
    }
    const review = await tx.postIncidentReview.create({
      data: {
        id: randomUUID(),
        module: input.module,
        changeRequestId,
        rolledBackFrom: plan.from,
        rolledBackTo: plan.to,
        warm: plan.warm,
        generation: generation ?? -1,
        reason: input.reason,
        openedAt: new Date(now),
        openedById: actor.id,
        openedByName: actor.name,
        // Nothing was served, so there is nothing for hosts to confirm.
        confirmedAt: generation === null ? new Date(now) : null,
      },
    });
    return { module: input.module, from: plan.from, to: plan.to, warm: plan.warm, generation, changeRequestId, reviewId: review.id };
  });
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

export async function listReviews(db: Db, options: { open?: boolean; limit?: number } = {}) {
  return db.postIncidentReview.findMany({
    where: options.open ? { acknowledgedAt: null } : {},
    orderBy: { openedAt: 'desc' },
    take: options.limit ?? 100,
  });
}

export async function acknowledgeReview(db: Db, actor: AuditActor, input: { id: string; note: string }) {
  return db.$transaction(async (tx) => {
    const review = await tx.postIncidentReview.findUnique({ where: { id: input.id } });
    if (!review) throw new DomainError(DomainErrorCode.NotFound, 'no such post-incident review');
    if (review.acknowledgedAt) throw new DomainError(DomainErrorCode.Conflict, `acknowledged already by ${review.acknowledgedByName}`);
    if (review.openedById === actor.id) throw new DomainError(DomainErrorCode.Forbidden, 'you rolled this back; another approver acknowledges the review');
    const updated = await tx.postIncidentReview.update({
      where: { id: input.id },
      data: { acknowledgedAt: new Date(), acknowledgedById: actor.id, acknowledgedByName: actor.name, note: input.note },
    });
    await appendAuditEvent(tx, {
      actor,
      action: 'review.acknowledged',
      targetType: 'post-incident-review',
      targetId: input.id,
      details: { module: review.module, from: review.rolledBackFrom, to: review.rolledBackTo, note: input.note, changeRequestId: review.changeRequestId },
    });
    return updated;
  });
}
