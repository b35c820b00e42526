import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { ChangeRequest } from '../db/generated/client';
import type { DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { voidApproval } from './approvals';
import { transitionOf } from './change-request';
import { canApprove, loadApprover, minApproverRoleAgeMs } from './four-eyes';

// Approvals are re-checked when a rollout starts and at each tick of a running one: the approver must still be
// an enabled approver whose signing key is not revoked. One that fails is voided (audited, shown on the request);
// a running rollout left with too few is held — paused, with the reason — until it is approved again.

declare module '../audit/append' {
  interface ExtraAuditActions {
    'rollout.held_for_approval': true;
    'rollout.approvals_restored': true;
    'change.approval_refused': true;
  }
}

/** Voids each standing approval of the current revision whose approver fails canApprove; returns the reasons. */
export async function voidFailingApprovals(tx: DbTransaction, actor: AuditActor, row: ChangeRequest, now: number): Promise<string[]> {
  const standing = await tx.approval.findMany({ where: { changeRequestId: row.id, revision: row.revision, decision: 'approved', voidedAt: null } });
  const reasons: string[] = [];
  for (const approval of standing) {
    const approver = await loadApprover(tx, approval.approverId, approval.approverName);
    const verdict = canApprove(approver, row, { at: approval.createdAt.getTime(), minRoleAgeMs: minApproverRoleAgeMs(), signedWith: approval.keyFingerprint });
    if (verdict.ok) continue;
    await voidApproval(tx, actor, approval, row, verdict.reason, now);
    reasons.push(verdict.reason);
  }
  return reasons;
}

/** Approvals of the current revision not voided; a running rollout's do not expire (they were valid at start). */
async function standingApprovals(tx: DbTransaction, row: ChangeRequest) {
  return tx.approval.findMany({ where: { changeRequestId: row.id, revision: row.revision, decision: 'approved', voidedAt: null } });
}

/**
 * At each tick of a running rollout. Returns the row as it is now: held (Paused, approvalHold set) when fewer
 * approvals than required still stand.
 */
export async function holdOnFailedApprovals(tx: DbTransaction, actor: AuditActor, row: ChangeRequest, now: number): Promise<ChangeRequest> {
  await voidFailingApprovals(tx, actor, row, now);
  if (row.approvalHold) return row;
  const standing = await standingApprovals(tx, row);
  if (standing.length >= row.requiredApprovals) return row;
  const voided = await tx.approval.findMany({
    where: { changeRequestId: row.id, revision: row.revision, decision: 'approved', voidedAt: { gte: row.startedAt ?? new Date(0) } },
    orderBy: { voidedAt: 'asc' },
  });
  const why = voided.map((a) => `${a.approverName}: ${a.voidReason}`).join('; ') || 'approvals were voided';
  const hold = `held: ${standing.length} of ${row.requiredApprovals} approvals still stand (${why}); approve it again, then resume`;
  const updated = await tx.changeRequest.update({
    where: { id: row.id },
    data: { state: row.state === 'Paused' ? 'Paused' : transitionOf(row, 'pause'), pausedAt: row.pausedAt ?? new Date(now), approvalHold: hold, updatedAt: new Date(now) },
  });
  await appendAuditEvent(tx, {
    actor,
    action: 'rollout.held_for_approval',
    targetType: 'change-request',
    targetId: row.id,
    details: { module: row.module, step: row.stepIndex + 1, standing: standing.length, required: row.requiredApprovals, why },
  });
  return updated;
}

/**
 * The re-check as preflight ends, before the first canary step serves anything: a preflight cannot pause, so too
 * few approvals fail it (nothing to roll back). Returns why, or null when enough approvals stand.
 */
export async function approvalsLapsedBeforeTraffic(tx: DbTransaction, actor: AuditActor, row: ChangeRequest, now: number): Promise<string | null> {
  const failed = await voidFailingApprovals(tx, actor, row, now);
  const standing = await standingApprovals(tx, row);
  if (standing.length >= row.requiredApprovals) return null;
  const voided = failed.length ? failed : (await tx.approval.findMany({ where: { changeRequestId: row.id, revision: row.revision, decision: 'approved', voidedAt: { not: null } } })).map((a) => `${a.approverName}: ${a.voidReason}`);
  return `only ${standing.length} of ${row.requiredApprovals} approvals still stand before the first canary step (${voided.join('; ') || 'approvals were voided'}); propose it again`;
}

/** After an approval of a held rollout: the hold ends once enough approvals stand again (it stays paused). */
export async function releaseHoldIfReapproved(tx: DbTransaction, actor: AuditActor, row: ChangeRequest, now: number): Promise<boolean> {
  if (!row.approvalHold) return false;
  const standing = await standingApprovals(tx, row);
  if (standing.length < row.requiredApprovals) return false;
  await tx.changeRequest.update({ where: { id: row.id }, data: { approvalHold: null, updatedAt: new Date(now) } });
  await appendAuditEvent(tx, { actor, action: 'rollout.approvals_restored', targetType: 'change-request', targetId: row.id, details: { module: row.module, standing: standing.length, required: row.requiredApprovals } });
  return true;
}

/** Resume and promote wait for a held rollout to be approved again. */
export function assertNotHeldForApproval(row: ChangeRequest) {
  if (row.approvalHold) throw new DomainError(DomainErrorCode.Conflict, `${row.id} is ${row.approvalHold}`);
}
