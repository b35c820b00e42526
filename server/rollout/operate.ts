import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { ChangeRequest } from '../db/generated/client';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { versionRefusal } from '../artifacts/version-validity';
import type { FleetMetrics } from '../fleet/metrics-store';
import { approvalsStillValid } from './approvals';
import { assertNotHeldForApproval, voidFailingApprovals } from './approval-recheck';
import { loadChangeRequest, planOf, transitionOf } from './change-request';
import { ACTIVE_STATES } from './change-request.types';
import { describeOpenBreaker, moduleBreaker } from './circuit-breaker';
import { snapshotsBefore } from './evidence';
import { readDesiredModule, stableVersionOf } from './fleet-bridge';
import type { RolloutSettings } from './settings';
import { promote, rollBack, type Transition } from './transitions';
import { enqueueWebhookEvent } from './webhooks';
import { assertWholeChangeApplies } from './whole-change';

// What an operator does to a rollout: start an approved request, pause, resume, promote now, abort. The engine
// picks up from whatever these leave in the database.

export interface OperateDeps {
  db: Db;
  settings: RolloutSettings;
  metrics: FleetMetrics;
}

export async function activeRolloutOf(tx: DbTransaction | Db, module: string): Promise<ChangeRequest | null> {
  return tx.changeRequest.findFirst({ where: { module, state: { in: [...ACTIVE_STATES] } } });
}

// Approved against one stable version: if another took its place, the approval no longer describes the change.
async function assertUpgradeApplies(tx: DbTransaction, row: ChangeRequest, now: number) {
  const stable = stableVersionOf(await readDesiredModule(tx, row.module));
  if (stable?.version !== row.fromVersion || stable.sm3 !== row.fromSm3) {
    throw new DomainError(
      DomainErrorCode.Conflict,
      `${row.module} was approved to move from ${row.fromVersion}, but ${stable ? `${stable.version} is the stable now` : 'no single version is stable now'}; edit the request (its approvals are voided) and have it approved again`,
    );
  }
  const target = await tx.moduleVersion.findUnique({ where: { moduleName_version: { moduleName: row.module, version: row.toVersion } }, include: { signer: true } });
  if (!target || target.sm3 !== row.toSm3) {
    throw new DomainError(DomainErrorCode.Conflict, `${row.module} ${row.toVersion} is no longer the accepted artifact that was approved (${target?.status ?? 'missing'})`);
  }
  const invalid = versionRefusal(target, new Date(now));
  if (invalid) throw new DomainError(DomainErrorCode.Conflict, `${invalid}; the rollout cannot start`);
}

export type StartResult = { started: true; row: ChangeRequest } | { started: false; reason: string };

export async function startRollout(deps: OperateDeps, actor: AuditActor, id: string, now = Date.now()): Promise<StartResult> {
  return deps.db.$transaction(async (tx): Promise<StartResult> => {
    const row = await loadChangeRequest(tx, id);
    const state = transitionOf(row, 'start');
    // A lapse is recorded (the request returns to the approvers) rather than thrown away with the refusal.
    const failed = await voidFailingApprovals(tx, actor, row, now);
    if (!(await approvalsStillValid(tx, actor, row, now))) {
      const why = failed.length ? `no longer hold (${failed.join('; ')})` : 'have expired';
      return { started: false, reason: `the approvals of ${row.id} ${why}; it is waiting for approvers again` };
    }
    // A removal loads nothing that could fail, so an open breaker (which counts failed rollouts) does not hold it.
    if (row.kind !== 'remove') {
      const breaker = await moduleBreaker(tx, row.module, now, deps.settings.breaker);
      if (breaker.open) throw new DomainError(DomainErrorCode.Conflict, describeOpenBreaker(row.module, breaker));
    }
    const running = await activeRolloutOf(tx, row.module);
    if (running) throw new DomainError(DomainErrorCode.Conflict, `${running.id} is rolling out ${row.module} already (${running.state}); one rollout per module at a time`);
    if (row.kind === 'upgrade') await assertUpgradeApplies(tx, row, now);
    else await assertWholeChangeApplies(tx, row, now);
    const before = snapshotsBefore(deps.metrics, row.module, now, deps.settings.snapshotSeconds);
    const started = await tx.changeRequest.update({
      where: { id },
      data: { state, startedAt: new Date(now), metricsBefore: JSON.stringify(before), updatedAt: new Date(now) },
    });
    await tx.rolloutPhase.create({ data: { changeRequestId: id, kind: 'preflight', startedAt: new Date(now), detail: '' } });
    await appendAuditEvent(tx, { actor, action: 'rollout.started', targetType: 'change-request', targetId: id, details: { module: row.module, kind: row.kind, from: row.fromVersion, to: row.toVersion, digest: row.digest } });
    await enqueueWebhookEvent(tx, 'rollout-started', { changeRequest: id, module: row.module, from: row.fromVersion, to: row.toVersion, startedBy: actor.name });
    return { started: true, row: started };
  });
}

function transition(deps: OperateDeps, actor: AuditActor, now: number, run: (t: Transition) => Promise<ChangeRequest>) {
  return deps.db.$transaction((tx) => run({ tx, actor, now, settings: deps.settings }));
}

export function pauseRollout(deps: OperateDeps, actor: AuditActor, id: string, now = Date.now()) {
  return transition(deps, actor, now, async (t) => {
    const row = await loadChangeRequest(t.tx, id);
    const updated = await t.tx.changeRequest.update({ where: { id }, data: { state: transitionOf(row, 'pause'), pausedAt: new Date(now), updatedAt: new Date(now) } });
    await appendAuditEvent(t.tx, { actor, action: 'rollout.paused', targetType: 'change-request', targetId: id, details: { module: row.module, step: row.stepIndex + 1 } });
    return updated;
  });
}

/** Resuming starts the current step's hold and deadline afresh: the time paused proved nothing either way. */
export function resumeRollout(deps: OperateDeps, actor: AuditActor, id: string, now = Date.now()) {
  return transition(deps, actor, now, async (t) => {
    const row = await loadChangeRequest(t.tx, id);
    assertNotHeldForApproval(row);
    const plan = planOf(row);
    const step = plan.steps[row.stepIndex];
    const updated = await t.tx.changeRequest.update({
      where: { id },
      data: {
        state: transitionOf(row, 'resume'),
        pausedAt: null,
        holdUntil: row.stepPhase === 'holding' ? new Date(now + step.holdSeconds * 1000) : row.holdUntil,
        stepDeadlineAt: new Date(now + plan.stepDeadlineSeconds * 1000),
        updatedAt: new Date(now),
      },
    });
    await appendAuditEvent(t.tx, {
      actor,
      action: 'rollout.resumed',
      targetType: 'change-request',
      targetId: id,
      details: { module: row.module, step: row.stepIndex + 1, pausedMs: row.pausedAt ? now - row.pausedAt.getTime() : null },
    });
    return updated;
  });
}

export function promoteNow(deps: OperateDeps, actor: AuditActor, id: string, now = Date.now()) {
  return transition(deps, actor, now, async (t) => {
    const row = await loadChangeRequest(t.tx, id);
    transitionOf(row, 'promote');
    assertNotHeldForApproval(row);
    return promote(t, row, `promoted by ${actor.name} at step ${row.stepIndex + 1}, skipping the remaining steps`);
  });
}

export function abortRollout(deps: OperateDeps, actor: AuditActor, id: string, reason: string, now = Date.now()) {
  return transition(deps, actor, now, async (t) => {
    const row = await loadChangeRequest(t.tx, id);
    transitionOf(row, 'abort');
    const outcome = { trigger: 'abort' as const, message: `aborted by ${actor.name}: ${reason}`, by: { id: actor.id, name: actor.name }, reason };
    return (await rollBack(t, row, 'abort', outcome)).row;
  });
}
