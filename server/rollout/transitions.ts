import { appendAuditEvent, type AuditAction } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { ChangeRequest } from '../db/generated/client';
import type { DbTransaction } from '../db/client';
import type { DesiredModule, DesiredVersion } from '../protocol';
import { planOf, transitionOf } from './change-request';
import type { ChangeState, RolloutOutcome } from './change-request.types';
import { moduleBreaker } from './circuit-breaker';
import { rolloutSeedFields } from './audit-seed';
import { EVIDENCE_SNAPSHOTS } from './evidence';
import { allTrafficTo, clearZoneDesired, readDesiredModule, readZoneOverrides, splitTraffic, writeDesiredModule, writeZoneDesired } from './fleet-bridge';
import type { RolloutSettings } from './settings';
import type { ChangeEvent } from './state-machine';
import { waveCount, waveLabel, waveZones } from './waves';
import { enqueueWebhookEvent } from './webhooks';

// The writes that move a rollout: a canary step, promotion, rollback, retiring the previous stable. Each runs
// inside the caller's transaction and writes the desired weights, the request's new state, the phase row and
// the audit events together, so a console killed at any moment leaves either the old step or the new one.

export interface Transition {
  tx: DbTransaction;
  actor: AuditActor;
  now: number;
  settings: RolloutSettings;
}

const at = (ms: number) => new Date(ms);

// The stable as the hosts run it; once retired after a promotion it is loaded afresh, configured as the
// version it replaces.
function stableEntry(row: ChangeRequest, current: DesiredModule | null): DesiredVersion {
  const loaded = current?.versions.find((v) => v.version === row.fromVersion);
  if (loaded) return loaded;
  const entry: DesiredVersion = { version: row.fromVersion, sm3: row.fromSm3, weight: 100, isolation: row.fromIsolation as DesiredVersion['isolation'] };
  const config = current?.versions.find((v) => v.version === row.toVersion)?.config;
  if (config) entry.config = config;
  return entry;
}

// The canary runs with the stable's hp_init configuration: a rollout changes code, not configuration.
function canaryEntry(row: ChangeRequest, current: DesiredModule | null): DesiredVersion {
  const existing = current?.versions.find((v) => v.version === row.toVersion);
  if (existing) return existing;
  const config = stableEntry(row, current).config;
  const entry: DesiredVersion = { version: row.toVersion, sm3: row.toSm3, weight: 0, isolation: planOf(row).isolation };
  if (config) entry.config = config;
  return entry;
}

async function audit(t: Transition, action: AuditAction, row: ChangeRequest, details: Record<string, unknown>) {
  await appendAuditEvent(t.tx, { actor: t.actor, action, targetType: 'change-request', targetId: row.id, details: { module: row.module, ...details } });
}

/** Ends the open phase rows (the running step or preflight) with `result`. */
async function closeOpenPhases(t: Transition, row: ChangeRequest, result: string) {
  await t.tx.rolloutPhase.updateMany({ where: { changeRequestId: row.id, endedAt: null, kind: { in: ['preflight', 'step'] } }, data: { endedAt: at(t.now), result } });
}

// The version taking all of the traffic takes the module's state with it, once (hosts remember the id).
function handOffToCanary(row: ChangeRequest, canary: DesiredVersion, canaryWeight: number) {
  return canaryWeight === 100 && row.stateHandOff && canary.weight < 100 ? { from: row.fromVersion, to: row.toVersion, id: `${row.id}:promote` } : undefined;
}

/**
 * Writes step `index`'s weights, in wave `wave`'s zones when the plan has waves (the fleet-wide state otherwise;
 * zones of earlier waves keep the canary as their last step left it), and starts waiting for the hosts to confirm them.
 */
export async function enterStep(t: Transition, row: ChangeRequest, index: number, wave = row.waveIndex): Promise<ChangeRequest> {
  const plan = planOf(row);
  const step = plan.steps[index];
  const zones = waveZones(plan, wave);
  const current = await readDesiredModule(t.tx, row.module, zones?.[0]);
  const canary = canaryEntry(row, current);
  const handOff = handOffToCanary(row, canary, step.weight);
  const desired = splitTraffic(current, row.module, { stable: stableEntry(row, current), canary, canaryWeight: step.weight, handOff });
  const generation = zones ? await writeZoneDesired(t.tx, t.actor, row.module, zones, desired, row.id) : (await writeDesiredModule(t.tx, t.actor, row.module, desired, row.id)).generation;
  await closeOpenPhases(t, row, 'passed');
  const detail = [waveLabel(plan, wave), handOff ? 'state handed off' : ''].filter(Boolean).join('; ');
  await t.tx.rolloutPhase.create({
    data: { changeRequestId: row.id, kind: 'step', stepIndex: index, waveIndex: zones ? wave : null, weight: step.weight, generation, startedAt: at(t.now), detail },
  });
  const updated = await t.tx.changeRequest.update({
    where: { id: row.id },
    data: {
      state: row.state === 'Preflight' ? transitionOf(row, 'preflight-passed') : row.state,
      stepIndex: index,
      waveIndex: wave,
      stepPhase: 'confirming',
      stepGeneration: generation,
      holdUntil: null,
      stepDeadlineAt: at(t.now + plan.stepDeadlineSeconds * 1000),
      lastDecisionAt: null,
      updatedAt: at(t.now),
    },
  });
  await audit(t, 'rollout.step_started', row, {
    step: index + 1,
    of: plan.steps.length,
    ...(zones ? { wave: wave + 1, waves: waveCount(plan), zones } : {}),
    weight: step.weight,
    holdSeconds: step.holdSeconds,
    generation,
    seed: await rolloutSeedFields(t.tx, row, 'forward', t.now),
  });
  return updated;
}

/** Every online host applied the step: its hold starts now. */
export async function confirmStep(t: Transition, row: ChangeRequest): Promise<ChangeRequest> {
  const step = planOf(row).steps[row.stepIndex];
  await t.tx.rolloutPhase.updateMany({ where: { changeRequestId: row.id, kind: 'step', stepIndex: row.stepIndex, endedAt: null }, data: { confirmedAt: at(t.now) } });
  const updated = await t.tx.changeRequest.update({
    where: { id: row.id },
    data: { stepPhase: 'holding', holdUntil: at(t.now + step.holdSeconds * 1000), updatedAt: at(t.now) },
  });
  await audit(t, 'rollout.step_confirmed', row, { step: row.stepIndex + 1, weight: step.weight, generation: row.stepGeneration });
  return updated;
}

/** The next step, else the next wave's first step, else promotion once the last wave passed. */
export async function passStep(t: Transition, row: ChangeRequest, decisionId: number | null): Promise<ChangeRequest> {
  const plan = planOf(row);
  const wave = plan.waves ? { wave: row.waveIndex + 1, waves: plan.waves.length } : {};
  await audit(t, 'rollout.step_passed', row, { step: row.stepIndex + 1, of: plan.steps.length, ...wave, decision: decisionId });
  if (row.stepIndex + 1 < plan.steps.length) return enterStep(t, row, row.stepIndex + 1);
  if (row.waveIndex + 1 < waveCount(plan)) {
    await audit(t, 'rollout.wave_passed', row, { ...wave, zones: waveZones(plan, row.waveIndex), next: waveZones(plan, row.waveIndex + 1) });
    return enterStep(t, row, 0, row.waveIndex + 1);
  }
  return promote(t, row, plan.waves ? 'the last wave passed its analysis' : 'the last step passed its analysis');
}

/** After the outcome is written: a failure may open the module's circuit breaker, which is announced. */
async function announceBreaker(t: Transition, row: ChangeRequest) {
  const breaker = await moduleBreaker(t.tx, row.module, t.now, t.settings.breaker);
  if (!breaker.open) return;
  await appendAuditEvent(t.tx, {
    actor: t.actor,
    action: 'breaker.opened',
    targetType: 'module',
    targetId: row.module,
    details: { reason: breaker.reason, until: new Date(breaker.until!).toISOString(), lastChangeRequest: row.id },
  });
  await enqueueWebhookEvent(t.tx, 'circuit-open', { module: row.module, reason: breaker.reason, until: new Date(breaker.until!).toISOString(), changeRequest: row.id });
}

export function finishData(t: Transition, state: ChangeState, outcome: RolloutOutcome) {
  return {
    state,
    stepPhase: null,
    finishedAt: at(t.now),
    outcome: JSON.stringify(outcome),
    evidenceDueAt: at(t.now + EVIDENCE_SNAPSHOTS * t.settings.snapshotSeconds * 1000),
    updatedAt: at(t.now),
  };
}

/** The canary becomes the stable at 100 %; the old stable stays loaded at weight 0 for the rollback window. */
export async function promote(t: Transition, row: ChangeRequest, why: string): Promise<ChangeRequest> {
  const plan = planOf(row);
  const current = await readDesiredModule(t.tx, row.module);
  const canary = canaryEntry(row, current);
  const handOff = handOffToCanary(row, canary, 100);
  const desired = splitTraffic(current, row.module, { stable: stableEntry(row, current), canary, canaryWeight: 100, handOff });
  const written = await writeDesiredModule(t.tx, t.actor, row.module, desired, row.id);
  // Every zone now runs the fleet-wide state, which has the canary at 100 %.
  const change = { generation: (await clearZoneDesired(t.tx, t.actor, row.module, row.id)) ?? written.generation };
  await closeOpenPhases(t, row, 'promoted');
  await t.tx.rolloutPhase.create({ data: { changeRequestId: row.id, kind: 'promote', weight: 100, generation: change.generation, startedAt: at(t.now), detail: why } });
  const outcome: RolloutOutcome = { trigger: 'promoted', message: `${row.module} ${row.toVersion} is the stable version: ${why}`, by: { id: t.actor.id, name: t.actor.name } };
  const updated = await t.tx.changeRequest.update({
    where: { id: row.id },
    data: { ...finishData(t, transitionOf(row, 'promote'), outcome), promotedAt: at(t.now), warmUntil: at(t.now + plan.rollbackWindowSeconds * 1000) },
  });
  await audit(t, 'rollout.promoted', row, {
    from: row.fromVersion,
    to: row.toVersion,
    generation: change.generation,
    why,
    warmUntil: updated.warmUntil!.toISOString(),
    seed: await rolloutSeedFields(t.tx, row, 'forward', t.now),
  });
  await enqueueWebhookEvent(t.tx, 'promoted', { changeRequest: row.id, module: row.module, from: row.fromVersion, to: row.toVersion, warmUntil: updated.warmUntil!.toISOString() });
  return updated;
}

/**
 * All traffic back to the previous stable and the canary removed (hosts drain and unload it): for a breach, a
 * missed deadline, an abort or a one-click rollback, during the rollout or after its promotion (a previous
 * stable already retired is loaded afresh). A preflight is only stopped: nothing was served yet.
 */
export async function rollBack(t: Transition, row: ChangeRequest, event: Extract<ChangeEvent, 'breach' | 'deadline' | 'abort' | 'rollback'>, outcome: RolloutOutcome) {
  const state = transitionOf(row, event);
  let generation: number | null = null;
  if (row.state !== 'Preflight') {
    const current = await readDesiredModule(t.tx, row.module);
    const zones = [...(await readZoneOverrides(t.tx, row.module)).values()];
    const canaryHadAll = [current, ...zones].some((desired) => desired?.versions.some((v) => v.version === row.toVersion && v.weight === 100));
    const handOff = row.stateHandOff && canaryHadAll ? { from: row.toVersion, to: row.fromVersion, id: `${row.id}:rollback` } : undefined;
    const change = await writeDesiredModule(t.tx, t.actor, row.module, allTrafficTo(current, row.module, stableEntry(row, current), row.toVersion, handOff), row.id);
    // A breach in any zone takes the canary out of every zone it reached: all of them run the fleet-wide stable again.
    generation = (await clearZoneDesired(t.tx, t.actor, row.module, row.id)) ?? change.generation;
  }
  await closeOpenPhases(t, row, event);
  await t.tx.rolloutPhase.create({ data: { changeRequestId: row.id, kind: 'rollback', weight: 0, generation, startedAt: at(t.now), detail: outcome.message } });
  const updated = await t.tx.changeRequest.update({ where: { id: row.id }, data: finishData(t, state, outcome) });
  await audit(t, state === 'Aborted' ? 'rollout.aborted' : 'rollout.rolled_back', row, {
    from: row.toVersion,
    to: row.fromVersion,
    generation,
    ...outcome,
    seed: await rolloutSeedFields(t.tx, row, 'back', t.now),
  });
  if (generation !== null) {
    await enqueueWebhookEvent(t.tx, 'rolled-back', { changeRequest: row.id, module: row.module, from: row.toVersion, to: row.fromVersion, trigger: outcome.trigger, message: outcome.message, metric: outcome.metric ?? null });
  }
  await announceBreaker(t, updated);
  return { row: updated, generation };
}

export async function failPreflight(t: Transition, row: ChangeRequest, report: string) {
  const outcome: RolloutOutcome = { trigger: 'preflight', message: `preflight failed: ${report}` };
  await closeOpenPhases(t, row, 'failed');
  const updated = await t.tx.changeRequest.update({ where: { id: row.id }, data: finishData(t, transitionOf(row, 'preflight-failed'), outcome) });
  await audit(t, 'rollout.preflight_failed', row, { version: row.toVersion, report });
  await announceBreaker(t, updated);
  return updated;
}

/** The rollback window is over: the previous stable leaves the desired state (if it still takes no traffic). */
export async function retirePrevious(t: Transition, row: ChangeRequest) {
  const current = await readDesiredModule(t.tx, row.module);
  const previous = current?.versions.find((v) => v.version === row.fromVersion);
  let generation: number | null = null;
  let detail = `${row.fromVersion} is not loaded any more`;
  if (current && previous && previous.weight === 0) {
    const desired = { ...current, versions: current.versions.filter((v) => v.version !== row.fromVersion) };
    delete desired.handOff;
    generation = (await writeDesiredModule(t.tx, t.actor, row.module, desired, row.id)).generation;
    detail = `${row.fromVersion} unloaded after the rollback window`;
  } else if (previous) {
    detail = `${row.fromVersion} takes traffic again (${previous.weight} %); left as it is`;
  }
  await t.tx.rolloutPhase.create({ data: { changeRequestId: row.id, kind: 'retire', weight: null, generation, startedAt: at(t.now), endedAt: at(t.now), detail } });
  await t.tx.changeRequest.update({ where: { id: row.id }, data: { previousRetiredAt: at(t.now), updatedAt: at(t.now) } });
  await audit(t, 'rollout.previous_retired', row, { version: row.fromVersion, generation, detail });
}

/** Once hosts applied a hand-off, it leaves the desired state, so a host that restarts later never repeats it. */
export async function clearHandOff(t: Transition, row: ChangeRequest) {
  const ours = (desired: DesiredModule | null | undefined) => desired?.handOff?.id.startsWith(`${row.id}:`) ?? false;
  const without = (desired: DesiredModule) => {
    const copy = { ...desired };
    delete copy.handOff;
    return copy;
  };
  const current = await readDesiredModule(t.tx, row.module);
  if (current && ours(current)) await writeDesiredModule(t.tx, t.actor, row.module, without(current), row.id);
  for (const [zone, desired] of await readZoneOverrides(t.tx, row.module)) {
    if (ours(desired)) await writeZoneDesired(t.tx, t.actor, row.module, [zone], without(desired), row.id);
  }
}
