import semver from 'semver';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import { NEVER_HOT_UPGRADABLE, type ModuleClass } from '../artifacts/manifest';
import { versionRefusal } from '../artifacts/version-validity';
import { inspectElf } from '../artifacts/elf';
import type { ChangeRequest } from '../db/generated/client';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { editInput, proposeInput, type ChangeState, type EditInput, type ProposeInput, type RolloutPlan } from './change-request.types';
import { changeDigest } from './digest';
import { readDesiredModule, stableVersionOf } from './fleet-bridge';
import { checkWaves } from './waves';
import { nextState, TransitionRefused, type ChangeEvent } from './state-machine';
import { lockName, lockRow } from '../db/row-locks';
import { enqueueWebhookEvent } from './webhooks';

// Proposing, editing, submitting and cancelling change requests. Every write re-derives the digest, and an edit
// raises the revision and voids every approval given so far, in the same transaction as its audit event.

/** One approval normally; two when the major version rises (an incompatible change by semver's own rule). */
export function requiredApprovalsFor(fromVersion: string, toVersion: string): number {
  const from = semver.parse(fromVersion);
  const to = semver.parse(toVersion);
  return from && to && to.major > from.major ? 2 : 1;
}

const STATE_EXPORTS = ['hp_state_export', 'hp_state_import'];

async function supportsHandOff(storePath: string): Promise<boolean> {
  const elf = await inspectElf(storePath);
  const names = new Set(elf.definedExports.map((s) => s.name));
  return STATE_EXPORTS.every((name) => names.has(name));
}

export function planOf(row: Pick<ChangeRequest, 'plan'>): RolloutPlan {
  return JSON.parse(row.plan) as RolloutPlan;
}

export function refuse(error: unknown): never {
  if (error instanceof TransitionRefused) throw new DomainError(DomainErrorCode.Conflict, error.message);
  throw error;
}

/** The next state for `event`, or a CONFLICT naming what the request can do instead. */
export function transitionOf(row: Pick<ChangeRequest, 'state'>, event: ChangeEvent): ChangeState {
  try {
    return nextState(row.state as ChangeState, event);
  } catch (error) {
    return refuse(error);
  }
}

export async function loadChangeRequest(tx: DbTransaction | Db, id: string): Promise<ChangeRequest> {
  await lockRow(tx, 'ChangeRequest', id);
  const row = await tx.changeRequest.findUnique({ where: { id } });
  if (!row) throw new DomainError(DomainErrorCode.NotFound, `no change request "${id}"`);
  return row;
}

interface Target {
  fromVersion: string;
  fromSm3: string;
  fromIsolation: string;
  toVersion: string;
  toSm3: string;
  stateHandOff: boolean;
}

// The module must be hot-upgradable, serve one stable version, and the target must be an accepted artifact
// that may run with the plan's isolation.
async function resolveTarget(db: Db, module: string, toVersion: string, plan: RolloutPlan): Promise<Target> {
  const found = await db.module.findUnique({ where: { name: module }, include: { versions: { include: { signer: true } } } });
  if (!found) throw new DomainError(DomainErrorCode.NotFound, `no module named "${module}" in the registry`);
  if (NEVER_HOT_UPGRADABLE.includes(found.class as ModuleClass)) {
    throw new DomainError(DomainErrorCode.InvalidInput, `RED LINE: ${module} is a ${found.class} module; ${NEVER_HOT_UPGRADABLE.join(', ')} modules are never hot-upgraded`);
  }
  const target = found.versions.find((v) => v.version === toVersion);
  if (!target) throw new DomainError(DomainErrorCode.NotFound, `${module} ${toVersion} is not in the registry; upload it first`);
  const invalid = versionRefusal(target);
  if (invalid) throw new DomainError(DomainErrorCode.InvalidInput, `${invalid}; it cannot be rolled out`);
  await checkWaves(db, plan);
  if (target.goRuntime && plan.isolation === 'inproc') {
    throw new DomainError(DomainErrorCode.InvalidInput, `${module} ${toVersion} carries a Go runtime: choose isolation "process"`);
  }
  const stable = stableVersionOf(await db.$transaction((tx) => readDesiredModule(tx, module)));
  if (!stable) {
    throw new DomainError(DomainErrorCode.Conflict, `${module} has no single stable version taking all its traffic; propose its first version on the module page (or let the running rollout finish) first`);
  }
  if (stable.version === toVersion) throw new DomainError(DomainErrorCode.InvalidInput, `${module} ${toVersion} is already the stable version`);
  const from = found.versions.find((v) => v.version === stable.version);
  const handOff = from ? (await supportsHandOff(from.storePath)) && (await supportsHandOff(target.storePath)) : false;
  return { fromVersion: stable.version, fromSm3: stable.sm3, fromIsolation: stable.isolation, toVersion, toSm3: target.sm3, stateHandOff: handOff };
}

export async function nextRequestId(tx: DbTransaction): Promise<string> {
  await lockName(tx, 'ChangeRequest.id');
  return `cr-${(await tx.changeRequest.count()) + 1}`;
}

function digestOf(id: string, revision: number, module: string, target: Target, plan: RolloutPlan) {
  return changeDigest({ id, revision, module, fromVersion: target.fromVersion, fromSm3: target.fromSm3, toVersion: target.toVersion, toSm3: target.toSm3, plan });
}

/** The audit events of a new request, of any kind, in its own transaction: created, and submitted when it was. */
export async function recordCreated(tx: DbTransaction, actor: AuditActor, row: ChangeRequest, details: Record<string, unknown>) {
  await appendAuditEvent(tx, {
    actor,
    action: 'change.created',
    targetType: 'change-request',
    targetId: row.id,
    details: { module: row.module, from: row.fromVersion, to: row.toVersion, ...details, digest: row.digest, ticket: row.ticket, reason: row.reason },
  });
  if (row.state === 'PendingApproval') await submitted(tx, actor, row);
}

export async function submitted(tx: DbTransaction, actor: AuditActor, row: ChangeRequest) {
  await appendAuditEvent(tx, { actor, action: 'change.submitted', targetType: 'change-request', targetId: row.id, details: { revision: row.revision, digest: row.digest } });
  await enqueueWebhookEvent(tx, 'approval-needed', {
    changeRequest: row.id,
    module: row.module,
    from: row.fromVersion,
    to: row.toVersion,
    requestedBy: row.requestedByName,
    requiredApprovals: row.requiredApprovals,
  });
}

export async function proposeChange(db: Db, actor: AuditActor, raw: ProposeInput) {
  const input = proposeInput.parse(raw);
  const target = await resolveTarget(db, input.module, input.toVersion, input.plan);
  return db.$transaction(async (tx) => {
    const id = await nextRequestId(tx);
    const now = new Date();
    const row = await tx.changeRequest.create({
      data: {
        id,
        module: input.module,
        revision: 1,
        digest: digestOf(id, 1, input.module, target, input.plan),
        state: input.submit ? 'PendingApproval' : 'Draft',
        ...target,
        plan: JSON.stringify(input.plan),
        reason: input.reason,
        ticket: input.ticket,
        requiredApprovals: requiredApprovalsFor(target.fromVersion, target.toVersion),
        requestedById: actor.id,
        requestedByName: actor.name,
        createdAt: now,
        updatedAt: now,
        submittedAt: input.submit ? now : null,
      },
    });
    await recordCreated(tx, actor, row, {});
    return row;
  });
}

function assertRequester(row: ChangeRequest, actor: AuditActor) {
  if (row.requestedById !== actor.id) {
    throw new DomainError(DomainErrorCode.Forbidden, `only ${row.requestedByName}, who proposed ${row.id}, may change it; propose your own instead`);
  }
}

/** Voids every live approval of the request (an edit, or a stable that moved under it). */
export async function voidApprovals(tx: DbTransaction, actor: AuditActor, row: ChangeRequest, why: string) {
  const live = await tx.approval.findMany({ where: { changeRequestId: row.id, voidedAt: null } });
  if (live.length === 0) return;
  await tx.approval.updateMany({ where: { changeRequestId: row.id, voidedAt: null }, data: { voidedAt: new Date(), voidReason: why } });
  await appendAuditEvent(tx, {
    actor,
    action: 'change.approval_voided',
    targetType: 'change-request',
    targetId: row.id,
    details: { revision: row.revision, why, approvals: live.map((a) => ({ id: a.id, approver: a.approverName, decision: a.decision })) },
  });
}

export async function editChange(db: Db, actor: AuditActor, raw: EditInput) {
  const input = editInput.parse(raw);
  const before = await loadChangeRequest(db, input.id);
  assertRequester(before, actor);
  if (before.kind !== 'upgrade') {
    throw new DomainError(DomainErrorCode.InvalidInput, `${before.id} is a ${before.kind} change, which carries the module's whole desired state: cancel it and propose the change again from the module page`);
  }
  const state = transitionOf(before, 'edit');
  const plan = input.plan ?? planOf(before);
  const target = await resolveTarget(db, before.module, input.toVersion ?? before.toVersion, plan);
  return db.$transaction(async (tx) => {
    const row = await loadChangeRequest(tx, input.id);
    if (row.revision !== input.revision) {
      throw new DomainError(DomainErrorCode.Conflict, `${row.id} is at revision ${row.revision} now, you edited revision ${input.revision}; reload it and edit again`);
    }
    const revision = row.revision + 1;
    await voidApprovals(tx, actor, row, `edited to revision ${revision}`);
    const updated = await tx.changeRequest.update({
      where: { id: row.id },
      data: {
        revision,
        digest: digestOf(row.id, revision, row.module, target, plan),
        state,
        ...target,
        plan: JSON.stringify(plan),
        reason: input.reason ?? row.reason,
        ticket: input.ticket ?? row.ticket,
        requiredApprovals: requiredApprovalsFor(target.fromVersion, target.toVersion),
        approvedAt: null,
        updatedAt: new Date(),
      },
    });
    await appendAuditEvent(tx, {
      actor,
      action: 'change.edited',
      targetType: 'change-request',
      targetId: row.id,
      details: { revision, digest: updated.digest, previousDigest: row.digest, from: updated.fromVersion, to: updated.toVersion, state },
    });
    if (row.state !== 'PendingApproval' && state === 'PendingApproval') await submitted(tx, actor, updated);
    return updated;
  });
}

export async function submitChange(db: Db, actor: AuditActor, id: string) {
  return db.$transaction(async (tx) => {
    const row = await loadChangeRequest(tx, id);
    assertRequester(row, actor);
    const updated = await tx.changeRequest.update({
      where: { id },
      data: { state: transitionOf(row, 'submit'), submittedAt: new Date(), updatedAt: new Date() },
    });
    await submitted(tx, actor, updated);
    return updated;
  });
}

export async function cancelChange(db: Db, actor: AuditActor, id: string, reason: string) {
  return db.$transaction(async (tx) => {
    const row = await loadChangeRequest(tx, id);
    assertRequester(row, actor);
    const updated = await tx.changeRequest.update({ where: { id }, data: { state: transitionOf(row, 'cancel'), updatedAt: new Date() } });
    await appendAuditEvent(tx, { actor, action: 'change.cancelled', targetType: 'change-request', targetId: id, details: { reason, from: row.state } });
    return updated;
  });
}
