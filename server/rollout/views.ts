import type { HostVerdict } from './host-analysis';
import type { ZoneVerdict } from './zone-analysis';
import type { Approval, ChangeRequest, RolloutDecision, RolloutPhase } from '../db/generated/client';
import type { Db } from '../db/client';
import type { AnalysisCheck } from './analysis';
import { approvalStanding, countValidApprovals } from './approvals';
import { loadChangeRequest, planOf } from './change-request';
import type { ChangeState, RolloutOutcome } from './change-request.types';
import { moduleBreaker, type BreakerSettings } from './circuit-breaker';
import { changeDigestText } from './digest';
import { canApprove, loadApprover, minApproverRoleAgeMs } from './four-eyes';
import { personActions } from './state-machine';
import { desiredOf } from './whole-change';
import type { ChangeKind } from './whole-change.types';

// Read models for the pages and the CLI: a request with everything a person needs to decide, lists, queues.

function summary(row: ChangeRequest) {
  const plan = planOf(row);
  return {
    id: row.id,
    module: row.module,
    kind: row.kind as ChangeKind,
    state: row.state as ChangeState,
    revision: row.revision,
    from: row.fromVersion || 'nothing',
    to: row.toVersion || 'nothing',
    reason: row.reason,
    ticket: row.ticket,
    requestedBy: { id: row.requestedById, name: row.requestedByName },
    requiredApprovals: row.requiredApprovals,
    step: row.stepIndex >= 0 ? { index: row.stepIndex, of: plan.steps.length, weight: plan.steps[row.stepIndex].weight, phase: row.stepPhase } : null,
    wave: plan.waves ? { index: row.waveIndex, of: plan.waves.length, zones: plan.waves[row.waveIndex] } : null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    finishedAt: row.finishedAt,
    outcome: row.outcome ? (JSON.parse(row.outcome) as RolloutOutcome) : null,
  };
}
export type ChangeSummary = ReturnType<typeof summary>;

export interface ChangeListFilter {
  state?: ChangeState[];
  module?: string;
  /** Proposed by the viewer. */
  mine?: boolean;
  /** Waiting for approval, not proposed by the viewer and not yet approved by them (the approvers' queue). */
  waitingForMe?: boolean;
  limit?: number;
  before?: string;
}

export async function listChanges(db: Db, filter: ChangeListFilter = {}, viewerId?: string) {
  if ((filter.mine || filter.waitingForMe) && !viewerId) throw new Error('listChanges: "mine" and "waiting for me" need the viewer');
  const requestedBy = filter.mine ? viewerId : filter.waitingForMe ? { not: viewerId } : undefined;
  const rows = await db.changeRequest.findMany({
    where: {
      AND: [
        { state: filter.state ? { in: filter.state } : undefined, module: filter.module, createdAt: filter.before ? { lt: new Date(filter.before) } : undefined, requestedById: requestedBy },
        filter.waitingForMe ? { state: 'PendingApproval' } : {},
      ],
    },
    orderBy: { createdAt: 'desc' },
    take: filter.limit ?? 50,
    include: { approvals: true },
  });
  const now = Date.now();
  const waiting = filter.waitingForMe
    ? rows.filter((row) => !row.approvals.some((a) => a.approverId === viewerId && a.decision === 'approved' && approvalStanding(a, row, now) === 'valid'))
    : rows;
  return waiting.map((row) => ({ ...summary(row), approvals: countValidApprovals(row.approvals, row, now) }));
}

/** The approvers' queue: requests waiting for approval that this person did not propose. */
export async function approvalQueue(db: Db, viewerId: string) {
  const rows = await db.changeRequest.findMany({
    where: { state: 'PendingApproval', requestedById: { not: viewerId } },
    orderBy: { submittedAt: 'asc' },
    include: { approvals: true },
  });
  const now = Date.now();
  return rows.map((row) => ({
    ...summary(row),
    digest: row.digest,
    plan: planOf(row),
    approvals: countValidApprovals(row.approvals, row, now),
    approvedByViewer: row.approvals.some((a) => a.approverId === viewerId && a.decision === 'approved' && approvalStanding(a, row, now) === 'valid'),
  }));
}

function approvalView(a: Approval, row: ChangeRequest, now: number) {
  return {
    id: a.id,
    approver: { id: a.approverId, name: a.approverName },
    decision: a.decision as 'approved' | 'rejected',
    revision: a.revision,
    digest: a.digest,
    keyFingerprint: a.keyFingerprint,
    signature: a.signatureHex,
    reason: a.reason,
    createdAt: a.createdAt,
    expiresAt: a.expiresAt,
    standing: approvalStanding(a, row, now),
    voidReason: a.voidReason,
  };
}

export function decisionView(d: RolloutDecision) {
  return {
    id: d.id,
    step: d.stepIndex + 1,
    wave: d.waveIndex + 1,
    time: d.time,
    verdict: d.verdict as 'pass' | 'breach' | 'inconclusive',
    metric: d.metric,
    checks: JSON.parse(d.checks) as AnalysisCheck[],
    window: { from: d.windowFrom, to: d.windowTo },
    canaryRequests: d.canaryRequests,
    stableRequests: d.stableRequests,
    hosts: d.hostVerdicts ? (JSON.parse(d.hostVerdicts) as HostVerdict[]) : [],
    zones: d.zoneVerdicts ? (JSON.parse(d.zoneVerdicts) as ZoneVerdict[]) : [],
  };
}

function phaseView(p: RolloutPhase) {
  return {
    id: p.id,
    kind: p.kind,
    step: p.stepIndex === null ? null : p.stepIndex + 1,
    wave: p.waveIndex === null ? null : p.waveIndex + 1,
    weight: p.weight,
    generation: p.generation,
    startedAt: p.startedAt,
    confirmedAt: p.confirmedAt,
    endedAt: p.endedAt,
    result: p.result,
    detail: p.detail,
  };
}

const RECENT_DECISIONS = 50;

/** Everything the request page shows; `viewerId` decides which actions are offered as this person's own. */
export async function changeDetail(db: Db, id: string, viewerId: string, breakerSettings: BreakerSettings) {
  const row = await loadChangeRequest(db, id);
  const [approvals, phases, decisions, evidence, target, breaker] = await Promise.all([
    db.approval.findMany({ where: { changeRequestId: id }, orderBy: { createdAt: 'asc' } }),
    db.rolloutPhase.findMany({ where: { changeRequestId: id }, orderBy: { id: 'asc' } }),
    db.rolloutDecision.findMany({ where: { changeRequestId: id }, orderBy: { id: 'desc' }, take: RECENT_DECISIONS }),
    db.evidenceBundle.findMany({ where: { changeRequestId: id }, orderBy: { createdAt: 'asc' }, select: { id: true, createdAt: true, sm3: true, keyFingerprint: true } }),
    db.moduleVersion.findUnique({ where: { moduleName_version: { moduleName: row.module, version: row.toVersion } }, include: { signer: true } }),
    moduleBreaker(db, row.module, Date.now(), breakerSettings),
  ]);
  const now = Date.now();
  const isRequester = row.requestedById === viewerId;
  const awaitingApproval = row.state === 'PendingApproval' || row.approvalHold !== null;
  const verdict = canApprove(await loadApprover(db, viewerId, viewerId), row, { at: now, minRoleAgeMs: minApproverRoleAgeMs() });
  return {
    ...summary(row),
    digest: row.digest,
    fromSm3: row.fromSm3,
    toSm3: row.toSm3,
    fromIsolation: row.fromIsolation,
    plan: planOf(row),
    /** First versions, settings changes and removals: the whole desired state before and after, as approved. */
    desired: row.kind === 'upgrade' ? null : desiredOf(row),
    stateHandOff: row.stateHandOff,
    submittedAt: row.submittedAt,
    approvedAt: row.approvedAt,
    startedAt: row.startedAt,
    promotedAt: row.promotedAt,
    warmUntil: row.warmUntil,
    previousRetiredAt: row.previousRetiredAt,
    holdUntil: row.holdUntil,
    stepDeadlineAt: row.stepDeadlineAt,
    pausedAt: row.pausedAt,
    validApprovals: countValidApprovals(approvals, row, now),
    approvals: approvals.map((a) => approvalView(a, row, now)),
    /** Buttons: the state machine's person events, narrowed to who may press them (the server checks again). */
    actions: personActions(row.state as ChangeState).filter((event) =>
      // A whole change is never edited: it is cancelled and proposed again from the module page.
      event === 'edit' && row.kind !== 'upgrade' ? false : ['edit', 'submit', 'cancel'].includes(event) ? isRequester : event === 'reject' ? !isRequester : true,
    ),
    /** Why a running rollout is held for approval (an approval failed its re-check), null when it is not. */
    approvalHold: row.approvalHold,
    canApprove: awaitingApproval && verdict.ok,
    /** Why this viewer may not approve (the server's canApprove reason), while the request awaits approval. */
    approvalRefusal: awaitingApproval && !verdict.ok ? { rule: verdict.rule, reason: verdict.reason } : null,
    phases: phases.map(phaseView),
    decisions: decisions.map(decisionView),
    evidence,
    /** The target artifact; its verification report is `modules.report({ id: reportId })`. */
    target: target ? { version: target.version, sm3: target.sm3, status: target.status, signer: target.signer.name, reportId: target.reportId } : null,
    breaker,
  };
}

export async function listDecisions(db: Db, id: string, options: { afterId?: number; limit?: number }) {
  const rows = await db.rolloutDecision.findMany({
    where: { changeRequestId: id, id: options.afterId ? { gt: options.afterId } : undefined },
    orderBy: { id: 'asc' },
    take: options.limit ?? 500,
  });
  return rows.map(decisionView);
}

/** What an approver signs (the 32 bytes of `digest`), and the canonical text it is the SM3 of, to read first. */
export async function digestForSigning(db: Db, id: string) {
  const row = await loadChangeRequest(db, id);
  const text = changeDigestText({ ...row, plan: planOf(row) });
  return { id: row.id, revision: row.revision, state: row.state as ChangeState, module: row.module, from: row.fromVersion, to: row.toVersion, digest: row.digest, canonicalText: text };
}

const TIMELINE_KINDS = ['step', 'promote', 'rollback'];

/** Weight changes of a module's canaries over a window, for the step markers and rollback annotations on its charts. */
export async function moduleTimeline(db: Db, module: string, fromMs: number) {
  const phases = await db.rolloutPhase.findMany({
    where: { kind: { in: TIMELINE_KINDS }, startedAt: { gte: new Date(fromMs) }, changeRequest: { module } },
    orderBy: { id: 'asc' },
    include: { changeRequest: { select: { toVersion: true } } },
  });
  return phases.map((p) => ({
    t: p.startedAt.getTime(),
    kind: p.kind as 'step' | 'promote' | 'rollback',
    changeRequestId: p.changeRequestId,
    canary: p.changeRequest.toVersion,
    weight: p.weight ?? 0,
    label: p.kind === 'step' ? `${p.changeRequestId} step ${(p.stepIndex ?? 0) + 1}: ${p.weight}%` : p.kind === 'promote' ? `${p.changeRequestId} promoted` : `${p.changeRequestId} rolled back`,
  }));
}
