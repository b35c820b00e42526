import { randomUUID } from 'node:crypto';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import { verifySignature } from '../crypto';
import type { Approval, ChangeRequest, Prisma } from '../db/generated/client';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { loadChangeRequest, transitionOf } from './change-request';
import { approvalMessage } from './digest';
import { releaseHoldIfReapproved } from './approval-recheck';
import { ACTIVE_STATES } from './change-request.types';
import { canApprove, loadApprover, minApproverRoleAgeMs } from './four-eyes';
import { activeSigningKey } from './signing-keys';

// Four eyes: an approver other than the requester signs the request's current digest with their own SM2 key.
// The server verifies the signature against the key on their profile before anything is written.

export type ApprovalStanding = 'valid' | 'expired' | 'void';

export function approvalStanding(approval: Pick<Approval, 'voidedAt' | 'expiresAt' | 'revision'>, request: Pick<ChangeRequest, 'revision'>, now: number): ApprovalStanding {
  if (approval.voidedAt || approval.revision !== request.revision) return 'void';
  if (approval.expiresAt && approval.expiresAt.getTime() <= now) return 'expired';
  return 'valid';
}

export function countValidApprovals(approvals: readonly Approval[], request: Pick<ChangeRequest, 'revision'>, now: number): number {
  return approvals.filter((a) => a.decision === 'approved' && approvalStanding(a, request, now) === 'valid').length;
}

function assertNotRequester(row: ChangeRequest, actor: AuditActor) {
  if (row.requestedById === actor.id) throw new DomainError(DomainErrorCode.Forbidden, `${actor.name} proposed ${row.id} and cannot approve or reject it: a second person must`);
}

export interface ApproveInput {
  id: string;
  digest: string;
  signature: string;
}

/** A refusal by canApprove: recorded in the audit trail (in its own transaction, as nothing else is written). */
class ApprovalRefused extends DomainError {
  constructor(readonly rule: string, reason: string) {
    super(DomainErrorCode.Forbidden, reason);
  }
}

export async function approveChange(db: Db, actor: AuditActor, input: ApproveInput, options: { ttlMs: number; now?: number; minRoleAgeMs?: number }) {
  try {
    return await approveInTransaction(db, actor, input, options);
  } catch (error) {
    if (error instanceof ApprovalRefused) {
      await db.$transaction((tx) =>
        appendAuditEvent(tx, { actor, action: 'change.approval_refused', targetType: 'change-request', targetId: input.id, details: { rule: error.rule, reason: error.message } }),
      );
    }
    throw error;
  }
}

function approveInTransaction(db: Db, actor: AuditActor, input: ApproveInput, options: { ttlMs: number; now?: number; minRoleAgeMs?: number }) {
  return db.$transaction(async (tx) => {
    const row = await loadChangeRequest(tx, input.id);
    const now = options.now ?? Date.now();
    const standing = canApprove(await loadApprover(tx, actor.id, actor.name), row, { at: now, minRoleAgeMs: options.minRoleAgeMs ?? minApproverRoleAgeMs() });
    if (!standing.ok) throw new ApprovalRefused(standing.rule, standing.reason);
    const held = row.approvalHold !== null && (ACTIVE_STATES as readonly string[]).includes(row.state);
    if (row.state !== 'PendingApproval' && !held) {
      throw new DomainError(DomainErrorCode.Conflict, `${row.id} is ${row.state}; only a request waiting for approval can be approved`);
    }
    if (input.digest !== row.digest) {
      throw new DomainError(DomainErrorCode.Conflict, `${row.id} changed since you loaded it (revision ${row.revision}, digest ${row.digest.slice(0, 16)}…); reload it, read it again and sign its current digest`);
    }
    const key = await activeSigningKey(tx, actor.id);
    if (!key) throw new DomainError(DomainErrorCode.InvalidInput, 'register your SM2 public key on your profile before you approve');
    const verdict = verifySignature({ message: approvalMessage(row.digest), signature: Buffer.from(input.signature, 'hex'), key });
    if (!verdict.ok) throw new DomainError(DomainErrorCode.InvalidInput, `the approval signature does not verify against your registered key: ${verdict.message}`);
    const existing = await tx.approval.findMany({ where: { changeRequestId: row.id, revision: row.revision, voidedAt: null } });
    if (existing.some((a) => a.approverId === actor.id && approvalStanding(a, row, now) === 'valid')) {
      throw new DomainError(DomainErrorCode.Conflict, `you have approved revision ${row.revision} of ${row.id} already; a second approval must come from another approver`);
    }
    const approval = await tx.approval.create({
      data: {
        id: randomUUID(),
        changeRequestId: row.id,
        revision: row.revision,
        digest: row.digest,
        decision: 'approved',
        approverId: actor.id,
        approverName: actor.name,
        keyFingerprint: key.fingerprint,
        signatureHex: input.signature.toLowerCase(),
        reason: '',
        createdAt: new Date(now),
        expiresAt: new Date(now + options.ttlMs),
      },
    });
    const valid = countValidApprovals([...existing, approval], row, now);
    const complete = valid >= row.requiredApprovals;
    await appendAuditEvent(tx, {
      actor: { ...actor, keyFingerprint: key.fingerprint },
      action: 'change.approved',
      targetType: 'change-request',
      targetId: row.id,
      details: { revision: row.revision, digest: row.digest, signature: approval.signatureHex, approvals: valid, required: row.requiredApprovals, complete },
    });
    if (held) {
      const released = await releaseHoldIfReapproved(tx, actor, row, now);
      return { approvalId: approval.id, approvals: valid, required: row.requiredApprovals, approved: released };
    }
    if (complete) {
      await tx.changeRequest.update({ where: { id: row.id }, data: { state: transitionOf(row, 'approvals-complete'), approvedAt: new Date(now), updatedAt: new Date(now) } });
    }
    return { approvalId: approval.id, approvals: valid, required: row.requiredApprovals, approved: complete };
  });
}

export async function rejectChange(db: Db, actor: AuditActor, input: { id: string; revision: number; reason: string }) {
  return db.$transaction(async (tx) => {
    const row = await loadChangeRequest(tx, input.id);
    assertNotRequester(row, actor);
    const state = transitionOf(row, 'reject');
    if (input.revision !== row.revision) {
      throw new DomainError(DomainErrorCode.Conflict, `${row.id} is at revision ${row.revision} now, you read revision ${input.revision}; reload it first`);
    }
    await tx.approval.create({
      data: {
        id: randomUUID(),
        changeRequestId: row.id,
        revision: row.revision,
        digest: row.digest,
        decision: 'rejected',
        approverId: actor.id,
        approverName: actor.name,
        reason: input.reason,
        createdAt: new Date(),
      },
    });
    await tx.changeRequest.update({ where: { id: row.id }, data: { state, updatedAt: new Date() } });
    await appendAuditEvent(tx, { actor, action: 'change.rejected', targetType: 'change-request', targetId: row.id, details: { revision: row.revision, reason: input.reason } });
  });
}

/**
 * At start: approvals may have expired since the request was approved. Then it goes back to the approvers
 * (recorded) and the start is refused; returns whether the request may start.
 */
export async function approvalsStillValid(tx: DbTransaction, actor: AuditActor, row: ChangeRequest, now: number): Promise<boolean> {
  const approvals = await tx.approval.findMany({ where: { changeRequestId: row.id } });
  const valid = countValidApprovals(approvals, row, now);
  if (valid >= row.requiredApprovals) return true;
  await tx.changeRequest.update({ where: { id: row.id }, data: { state: transitionOf(row, 'approvals-lapsed'), approvedAt: null, updatedAt: new Date(now) } });
  await appendAuditEvent(tx, {
    actor,
    action: 'change.approvals_lapsed',
    targetType: 'change-request',
    targetId: row.id,
    details: { revision: row.revision, valid, required: row.requiredApprovals },
  });
  return false;
}

/** Voids one approval with the reason, audited; it stays on the request, shown with the reason. */
export async function voidApproval(tx: DbTransaction, actor: AuditActor, approval: Approval, row: ChangeRequest, why: string, now: number) {
  await tx.approval.update({ where: { id: approval.id }, data: { voidedAt: new Date(now), voidReason: why } });
  await appendAuditEvent(tx, {
    actor,
    action: 'change.approval_voided',
    targetType: 'change-request',
    targetId: row.id,
    details: { revision: row.revision, why, approvals: [{ id: approval.id, approver: approval.approverName, decision: approval.decision }] },
  });
}

/**
 * Voids the approvals `where` selects on open requests (not started, or running), each audited: a request not yet
 * started that no longer has enough goes back to the approvers; a running one is held by the engine's re-check.
 */
async function voidOpenApprovals(tx: DbTransaction, actor: AuditActor, where: Prisma.ApprovalWhereInput, why: string) {
  const open = await tx.approval.findMany({
    where: { ...where, voidedAt: null, changeRequest: { state: { in: ['PendingApproval', 'Approved', ...ACTIVE_STATES] } } },
    include: { changeRequest: true },
  });
  const now = Date.now();
  for (const approval of open) {
    const row = approval.changeRequest;
    await voidApproval(tx, actor, approval, row, why, now);
    if (row.state === 'Approved') await approvalsStillValid(tx, actor, await loadChangeRequest(tx, row.id), now);
  }
}

/** A revoked key vouches for nothing more. */
export async function voidApprovalsSignedWith(tx: DbTransaction, actor: AuditActor, fingerprints: string[], why: string) {
  if (fingerprints.length > 0) await voidOpenApprovals(tx, actor, { keyFingerprint: { in: fingerprints } }, why);
}

/** Disabling or demoting an approver: every approval of theirs on an open request stops counting. */
export async function voidOpenApprovalsOf(tx: DbTransaction, actor: AuditActor, approverId: string, why: string) {
  await voidOpenApprovals(tx, actor, { approverId, decision: 'approved' }, why);
}
