import type { Db } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { acknowledgeRefusal } from './reviews';

// One post-incident review as its page shows it: what happened, the timeline read back from the audit trail
// (the rollout's events, the rollback, the acknowledgement) and whether this viewer may acknowledge it.

const TIMELINE_LIMIT = 300;

export interface TimelineEntry {
  time: string;
  action: string;
  actor: string;
  summary: string;
  seq: number | null;
}

function summaryOf(details: string): string {
  try {
    const d = JSON.parse(details) as Record<string, unknown>;
    const said = d.message ?? d.reason ?? d.note ?? d.why;
    if (typeof said === 'string') return said;
    if (typeof d.from === 'string' && typeof d.to === 'string') return `${d.from} → ${d.to}`;
    return '';
  } catch {
    return '';
  }
}

export async function reviewDetail(db: Db, id: string, viewerId: string) {
  const review = await db.postIncidentReview.findUnique({ where: { id } });
  if (!review) throw new DomainError(DomainErrorCode.NotFound, `no post-incident review "${id}"; the list is at /reviews`);
  const about = [{ targetType: 'post-incident-review', targetId: id }, ...(review.changeRequestId ? [{ targetType: 'change-request', targetId: review.changeRequestId }] : [])];
  const [events, evidence, request] = await Promise.all([
    db.auditEvent.findMany({ where: { OR: about }, orderBy: { seq: 'asc' }, take: TIMELINE_LIMIT }),
    review.changeRequestId
      ? db.evidenceBundle.findMany({ where: { changeRequestId: review.changeRequestId }, orderBy: { createdAt: 'asc' }, select: { id: true, createdAt: true, sm3: true } })
      : [],
    review.changeRequestId ? db.changeRequest.findUnique({ where: { id: review.changeRequestId }, select: { id: true, state: true, reason: true, requestedByName: true } }) : null,
  ]);
  const timeline: TimelineEntry[] = events.map((e) => ({ time: e.time, action: e.action, actor: e.actorName, summary: summaryOf(e.details), seq: e.seq }));
  // The hosts' confirmation is a fact the engine records on the review, not an audit event of its own.
  if (review.confirmedAt) {
    timeline.push({ time: review.confirmedAt.toISOString(), action: 'hosts.confirmed', actor: 'fleet', summary: `every online host runs ${review.rolledBackTo}`, seq: null });
    timeline.sort((a, b) => a.time.localeCompare(b.time) || (a.seq ?? Infinity) - (b.seq ?? Infinity));
  }
  const refusal = review.acknowledgedAt ? `acknowledged already by ${review.acknowledgedByName}` : acknowledgeRefusal(review, viewerId);
  return {
    id: review.id,
    module: review.module,
    from: review.rolledBackFrom,
    to: review.rolledBackTo,
    warm: review.warm,
    reason: review.reason,
    openedBy: review.openedByName,
    openedAt: review.openedAt,
    confirmedAt: review.confirmedAt,
    dueAt: review.dueAt,
    overdue: !review.acknowledgedAt && review.dueAt !== null && review.dueAt.getTime() <= Date.now(),
    acknowledged: review.acknowledgedAt ? { at: review.acknowledgedAt, by: review.acknowledgedByName, note: review.note } : null,
    request,
    evidence,
    timeline,
    /** Why the Acknowledge form is not offered to this viewer (roles aside: the page checks the permission). */
    acknowledgeRefusal: refusal,
  };
}
