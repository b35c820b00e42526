import { randomUUID } from 'node:crypto';
import { appendAuditEvent } from '../audit/append';
import { SYSTEM_ACTOR, type AuditActor } from '../audit/actor';
import type { Db, DbTransaction } from '../db/client';
import type { PostIncidentReview } from '../db/generated/client';
import { DomainError, DomainErrorCode } from '../errors';
import { enqueueWebhookEvent } from './webhooks';

// Post-incident reviews: every break-glass opens one, due a set time later (HOTPLANE_REVIEW_DEADLINE_MS, 24 h by
// default). An approver other than the person who pulled the break-glass acknowledges it; one left open past its
// deadline is escalated once by the engine's tick (audit event and `review-overdue` webhook, one transaction).

export interface OpenReview {
  module: string;
  changeRequestId: string | null;
  from: string;
  to: string;
  warm: boolean;
  generation: number | null;
  reason: string;
}

export async function openReview(tx: DbTransaction, actor: AuditActor, review: OpenReview, now: number, deadlineMs: number) {
  const row = await tx.postIncidentReview.create({
    data: {
      id: randomUUID(),
      module: review.module,
      changeRequestId: review.changeRequestId,
      rolledBackFrom: review.from,
      rolledBackTo: review.to,
      warm: review.warm,
      generation: review.generation ?? -1,
      reason: review.reason,
      openedAt: new Date(now),
      openedById: actor.id,
      openedByName: actor.name,
      dueAt: new Date(now + deadlineMs),
      // Nothing was served, so there is nothing for hosts to confirm.
      confirmedAt: review.generation === null ? new Date(now) : null,
    },
  });
  await appendAuditEvent(tx, {
    actor,
    action: 'review.opened',
    targetType: 'post-incident-review',
    targetId: row.id,
    details: { module: review.module, from: review.from, to: review.to, changeRequestId: review.changeRequestId, reason: review.reason, dueAt: row.dueAt!.toISOString() },
  });
  return row;
}

/** Escalates every open review past its deadline that was not escalated yet; returns how many. */
export async function escalateOverdueReviews(db: Db, now = Date.now()): Promise<number> {
  return db.$transaction(async (tx) => {
    const overdue = await tx.postIncidentReview.findMany({ where: { acknowledgedAt: null, overdueNotifiedAt: null, dueAt: { lte: new Date(now) } } });
    for (const review of overdue) {
      // The guard makes a second engine (or a retried tick) escalate nothing twice.
      const claimed = await tx.postIncidentReview.updateMany({ where: { id: review.id, overdueNotifiedAt: null }, data: { overdueNotifiedAt: new Date(now) } });
      if (claimed.count === 0) continue;
      const details = {
        review: review.id,
        module: review.module,
        from: review.rolledBackFrom,
        to: review.rolledBackTo,
        openedBy: review.openedByName,
        openedAt: review.openedAt.toISOString(),
        dueAt: review.dueAt!.toISOString(),
        changeRequestId: review.changeRequestId,
      };
      await appendAuditEvent(tx, { actor: SYSTEM_ACTOR, action: 'review.overdue', targetType: 'post-incident-review', targetId: review.id, details });
      await enqueueWebhookEvent(tx, 'review-overdue', details);
    }
    return overdue.length;
  });
}

export async function listReviews(db: Db, options: { open?: boolean; module?: string; limit?: number } = {}) {
  const rows = await db.postIncidentReview.findMany({
    where: { ...(options.open ? { acknowledgedAt: null } : {}), module: options.module },
    orderBy: { openedAt: 'desc' },
    take: options.limit ?? 100,
  });
  const now = Date.now();
  return rows.map((row) => ({ ...row, overdue: !row.acknowledgedAt && row.dueAt !== null && row.dueAt.getTime() <= now }));
}

/** Why this person may not acknowledge the review, or null: the one rule the API enforces and the page explains. */
export function acknowledgeRefusal(review: Pick<PostIncidentReview, 'openedById'>, personId: string): string | null {
  return review.openedById === personId ? 'you rolled this back; another approver acknowledges the review' : null;
}

export async function acknowledgeReview(db: Db, actor: AuditActor, input: { id: string; note: string }) {
  const outcome = await db.$transaction(async (tx) => {
    const review = await tx.postIncidentReview.findUnique({ where: { id: input.id } });
    if (!review) throw new DomainError(DomainErrorCode.NotFound, 'no such post-incident review');
    if (review.acknowledgedAt) throw new DomainError(DomainErrorCode.Conflict, `acknowledged already by ${review.acknowledgedByName}`);
    const refusal = acknowledgeRefusal(review, actor.id);
    if (refusal) {
      // Recorded, not thrown here: throwing would undo the audit event with the transaction.
      await appendAuditEvent(tx, { actor, action: 'review.acknowledge_refused', targetType: 'post-incident-review', targetId: input.id, details: { why: refusal } });
      return { refusal, updated: null };
    }
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
    return { refusal: null, updated };
  });
  if (outcome.refusal !== null) throw new DomainError(DomainErrorCode.Forbidden, outcome.refusal);
  return outcome.updated;
}
