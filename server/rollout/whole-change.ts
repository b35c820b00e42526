import { localArtifactPath } from '../artifacts/shared-bytes';
import { appendAuditEvent } from '../audit/append';
import { SYSTEM_ACTOR, type AuditActor } from '../audit/actor';
import { canonicalJson } from '../audit/canonical-json';
import { NEVER_HOT_UPGRADABLE, type ModuleClass } from '../artifacts/manifest';
import { versionRefusal, type VersionValidityFacts } from '../artifacts/version-validity';
import type { ChangeRequest } from '../db/generated/client';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import type { DesiredModule, DesiredVersion } from '../protocol';
import { nextRequestId, recordCreated, transitionOf } from './change-request';
import { ACTIVE_STATES, planSchema, type RolloutOutcome } from './change-request.types';
import { changeDigest } from './digest';
import { readDesiredModule, writeDesiredModule } from './fleet-bridge';
import type { PreflightResult, PreflightRunner } from './preflight';
import type { RolloutSettings } from './settings';
import { failPreflight, finishData, type Transition } from './transitions';
import { enqueueWebhookEvent } from './webhooks';
import { proposeDesiredInput, type ProposeDesiredInput, type VersionChoice, type WholeChangeKind } from './whole-change.types';

// Every change of what runs that is not a canary upgrade — a module's first version, a settings change
// (weights, hp_init config, isolation, timeouts) and a removal — is a change request that carries the whole
// desired state before and after. Its approvers sign both (digest v2), it starts only while what runs is still
// exactly `before`, and after a preflight of every version it loads anew the engine writes `after` in one step.

// Why a registry version cannot run as asked, or null when it can.
function refusal(module: string, choice: VersionChoice, found: (VersionValidityFacts & { goRuntime: boolean }) | undefined): string | null {
  if (!found) return `${module} ${choice.version} is not in the registry`;
  const invalid = versionRefusal(found);
  if (invalid) return invalid;
  if (found.goRuntime && choice.isolation === 'inproc') {
    return `${module} ${choice.version} carries a Go runtime, which can neither be unloaded nor share a process with another Go runtime: choose isolation "process"`;
  }
  return null;
}

type ParsedInput = ReturnType<typeof proposeDesiredInput.parse>;

async function desiredAfter(tx: DbTransaction, input: ParsedInput): Promise<DesiredModule | null> {
  const found = await tx.module.findUnique({ where: { name: input.module }, include: { versions: { include: { signer: true } } } });
  if (!found) throw new DomainError(DomainErrorCode.NotFound, `no module named "${input.module}" in the registry`);
  if (input.versions.every((v) => v.weight === 0)) return null;
  if (NEVER_HOT_UPGRADABLE.includes(found.class as ModuleClass)) {
    throw new DomainError(
      DomainErrorCode.InvalidInput,
      `RED LINE: ${found.name} is a ${found.class} module; ${NEVER_HOT_UPGRADABLE.join(', ')} modules are never loaded by the hot-upgrade runtime`,
    );
  }
  const byVersion = new Map(found.versions.map((v) => [v.version, v]));
  const problems = input.versions.map((choice) => refusal(found.name, choice, byVersion.get(choice.version))).filter((p) => p !== null);
  if (problems.length) throw new DomainError(DomainErrorCode.InvalidInput, problems.join('; '));
  const versions = input.versions.map((choice): DesiredVersion => {
    const desired: DesiredVersion = { version: choice.version, sm3: byVersion.get(choice.version)!.sm3, weight: choice.weight, isolation: choice.isolation };
    if (choice.config) desired.config = choice.config;
    return desired;
  });
  const desired: DesiredModule = { module: found.name, versions };
  if (input.requestTimeoutMs !== undefined) desired.requestTimeoutMs = input.requestTimeoutMs;
  if (input.drainDeadlineMs !== undefined) desired.drainDeadlineMs = input.drainDeadlineMs;
  return desired;
}

// A state hand-off is the engine's own, transient part of the desired state: never proposed, never compared.
function withoutHandOff(desired: DesiredModule | null): DesiredModule | null {
  if (!desired) return null;
  const copy = { ...desired };
  delete copy.handOff;
  return copy;
}

const stored = (desired: DesiredModule | null) => (desired ? canonicalJson(desired) : null);
const parsed = (json: string | null) => (json ? (JSON.parse(json) as DesiredModule) : null);

function kindOf(module: string, before: DesiredModule | null, after: DesiredModule | null): WholeChangeKind {
  if (!before && !after) throw new DomainError(DomainErrorCode.InvalidInput, `${module} does not run anywhere, so there is nothing to remove; give a version a weight of 100 to propose its first version`);
  if (!before) return 'first';
  if (!after) return 'remove';
  if (stored(before) === stored(after)) throw new DomainError(DomainErrorCode.InvalidInput, `this is exactly what ${module} runs now; change a version, weight, config, isolation or timeout first`);
  return 'settings';
}

/** The version with the most traffic, to name the change in lists ("1.0.0 → 1.1.0"). */
function leadingVersion(desired: DesiredModule | null): DesiredVersion | null {
  return desired?.versions.reduce<DesiredVersion | null>((best, v) => (!best || v.weight > best.weight ? v : best), null) ?? null;
}

export async function proposeWholeChange(db: Db, actor: AuditActor, raw: ProposeDesiredInput): Promise<ChangeRequest> {
  const input = proposeDesiredInput.parse(raw);
  return db.$transaction(async (tx) => {
    const running = await tx.changeRequest.findFirst({ where: { module: input.module, state: { in: [...ACTIVE_STATES] } } });
    if (running) throw new DomainError(DomainErrorCode.Conflict, `${running.id} is rolling out ${input.module} (${running.state}); propose this change once it has finished`);
    const after = await desiredAfter(tx, input);
    const before = withoutHandOff(await readDesiredModule(tx, input.module));
    const kind = kindOf(input.module, before, after);
    const id = await nextRequestId(tx);
    const from = leadingVersion(before);
    const to = leadingVersion(after);
    const plan = planSchema.parse({ isolation: to?.isolation ?? from?.isolation ?? 'process' });
    const subject = {
      id,
      revision: 1,
      module: input.module,
      fromVersion: from?.version ?? '',
      fromSm3: from?.sm3 ?? '',
      toVersion: to?.version ?? '',
      toSm3: to?.sm3 ?? '',
      plan,
      kind,
      desiredBefore: stored(before),
      desiredAfter: stored(after),
    };
    const now = new Date();
    const row = await tx.changeRequest.create({
      data: {
        ...subject,
        plan: JSON.stringify(plan),
        digest: changeDigest(subject),
        state: input.submit ? 'PendingApproval' : 'Draft',
        fromIsolation: from?.isolation ?? '',
        stateHandOff: false,
        reason: input.reason,
        ticket: input.ticket,
        requiredApprovals: 1,
        requestedById: actor.id,
        requestedByName: actor.name,
        createdAt: now,
        updatedAt: now,
        submittedAt: input.submit ? now : null,
      },
    });
    await recordCreated(tx, actor, row, { kind, before, after });
    return row;
  });
}

/** At start: what runs must still be what the approvers saw as `before`, and every version in `after` the approved bytes. */
export async function assertWholeChangeApplies(tx: DbTransaction, row: ChangeRequest, now: number) {
  const current = withoutHandOff(await readDesiredModule(tx, row.module));
  if (stored(current) !== row.desiredBefore) {
    throw new DomainError(
      DomainErrorCode.Conflict,
      `what ${row.module} runs changed since ${row.id} was proposed, so its approval no longer describes the change; cancel it and propose the change again`,
    );
  }
  for (const version of parsed(row.desiredAfter)?.versions ?? []) {
    const found = await tx.moduleVersion.findUnique({ where: { moduleName_version: { moduleName: row.module, version: version.version } }, include: { signer: true } });
    if (!found || found.sm3 !== version.sm3) {
      throw new DomainError(DomainErrorCode.Conflict, `${row.module} ${version.version} is no longer the accepted artifact that was approved (${found?.status ?? 'missing'})`);
    }
    const invalid = versionRefusal(found, new Date(now));
    if (invalid) throw new DomainError(DomainErrorCode.Conflict, `${invalid}; the change cannot start`);
  }
}

const sameEntry = (a: DesiredVersion, b: DesiredVersion) => a.version === b.version && a.sm3 === b.sm3 && a.isolation === b.isolation && (a.config ?? '') === (b.config ?? '');

/** Probes every version `after` loads anew or differently (config, isolation); a removal loads nothing. */
async function preflightWholeChange(db: Db, row: ChangeRequest, preflight: PreflightRunner, selfTestLimitMs: number): Promise<PreflightResult> {
  const before = parsed(row.desiredBefore);
  const reports: string[] = [];
  let timings: PreflightResult['timings'] = {};
  for (const version of parsed(row.desiredAfter)?.versions ?? []) {
    if (before?.versions.some((b) => sameEntry(b, version))) continue;
    const found = await db.moduleVersion.findUnique({ where: { moduleName_version: { moduleName: row.module, version: version.version } } });
    if (!found) return { ok: false, report: `${row.module} ${version.version} is gone from the registry`, timings: {} };
    const result = await preflight({ module: row.module, version: version.version, path: await localArtifactPath(db, found.sm3), sm3: version.sm3, config: version.config ?? '', selfTestLimitMs });
    if (!result.ok) return { ...result, report: `${version.version}: ${result.report}` };
    reports.push(`${version.version}: ${result.report}`);
    timings = result.timings;
  }
  return { ok: true, report: reports.length ? reports.join('; ') : 'nothing new to load', timings };
}

function describe(desired: DesiredModule | null): string {
  return desired ? desired.versions.map((v) => `${v.version} ${v.weight} %`).join(', ') : 'nothing';
}

/** Writes `after` and finishes the request as Promoted, inside the caller's transaction. */
async function applyWholeChange(t: Transition, row: ChangeRequest): Promise<ChangeRequest> {
  const before = parsed(row.desiredBefore);
  const after = parsed(row.desiredAfter);
  const change = await writeDesiredModule(t.tx, t.actor, row.module, after, row.id);
  const now = new Date(t.now);
  await t.tx.rolloutPhase.updateMany({ where: { changeRequestId: row.id, endedAt: null, kind: 'preflight' }, data: { endedAt: now, result: 'passed' } });
  const detail = `${describe(before)} → ${describe(after)}`;
  await t.tx.rolloutPhase.create({ data: { changeRequestId: row.id, kind: 'promote', weight: after ? 100 : null, generation: change.generation, startedAt: now, detail } });
  const outcome: RolloutOutcome = { trigger: 'promoted', message: `${row.kind} change of ${row.module} applied: ${detail}`, by: { id: t.actor.id, name: t.actor.name } };
  // Nothing stays warm for a rollback window: break-glass restores `before` (settings) or has nothing to return to.
  const updated = await t.tx.changeRequest.update({
    where: { id: row.id },
    data: { ...finishData(t, transitionOf(row, 'apply'), outcome), promotedAt: now, previousRetiredAt: now },
  });
  await appendAuditEvent(t.tx, {
    actor: t.actor,
    action: 'rollout.promoted',
    targetType: 'change-request',
    targetId: row.id,
    details: { module: row.module, kind: row.kind, generation: change.generation, before, after },
  });
  await enqueueWebhookEvent(t.tx, 'promoted', { changeRequest: row.id, module: row.module, kind: row.kind, from: row.fromVersion, to: row.toVersion });
  return updated;
}

export interface WholeChangeDeps {
  preflight: PreflightRunner;
  settings: RolloutSettings;
  actor?: AuditActor;
}

/**
 * The engine's step for a started first/settings/remove request: preflight, then `after` written whole, or the
 * request failed with the probe's report. Only a request still in preflight takes the result (an abort wins).
 */
export async function runWholeChange(db: Db, id: string, deps: WholeChangeDeps): Promise<ChangeRequest> {
  const row = await db.changeRequest.findUniqueOrThrow({ where: { id } });
  const result = row.state === 'Preflight' ? await preflightWholeChange(db, row, deps.preflight, deps.settings.preflightSelfTestMs) : null;
  return db.$transaction(async (tx) => {
    const current = await tx.changeRequest.findUniqueOrThrow({ where: { id } });
    if (current.state !== 'Preflight' || !result) return current;
    const t: Transition = { tx, actor: deps.actor ?? SYSTEM_ACTOR, now: Date.now(), settings: deps.settings };
    const detail = `${result.report} (${Object.entries(result.timings).map(([k, v]) => `${k} ${v?.toFixed(1)}`).join(', ')})`;
    await tx.rolloutPhase.updateMany({ where: { changeRequestId: id, kind: 'preflight', endedAt: null }, data: { detail } });
    if (!result.ok) return failPreflight(t, current, result.report);
    await appendAuditEvent(tx, { actor: t.actor, action: 'rollout.preflight_passed', targetType: 'change-request', targetId: id, details: { kind: current.kind, ...result } });
    return applyWholeChange(t, current);
  });
}

/** Break-glass of a promoted settings change: `before` again, as the approvers saw it. */
export async function revertWholeChange(t: Transition, row: ChangeRequest, outcome: RolloutOutcome) {
  const state = transitionOf(row, 'rollback');
  const change = await writeDesiredModule(t.tx, t.actor, row.module, parsed(row.desiredBefore), row.id);
  await t.tx.rolloutPhase.create({ data: { changeRequestId: row.id, kind: 'rollback', weight: 0, generation: change.generation, startedAt: new Date(t.now), detail: outcome.message } });
  const updated = await t.tx.changeRequest.update({ where: { id: row.id }, data: finishData(t, state, outcome) });
  await appendAuditEvent(t.tx, {
    actor: t.actor,
    action: 'rollout.rolled_back',
    targetType: 'change-request',
    targetId: row.id,
    details: { module: row.module, kind: row.kind, generation: change.generation, ...outcome },
  });
  await enqueueWebhookEvent(t.tx, 'rolled-back', { changeRequest: row.id, module: row.module, kind: row.kind, trigger: outcome.trigger, message: outcome.message });
  return { row: updated, generation: change.generation };
}

export function desiredOf(row: Pick<ChangeRequest, 'desiredBefore' | 'desiredAfter'>) {
  return { before: parsed(row.desiredBefore), after: parsed(row.desiredAfter) };
}

export { stored as storedDesired, withoutHandOff };
