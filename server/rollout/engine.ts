import { localArtifactPath } from '../artifacts/shared-bytes';
import { SYSTEM_ACTOR } from '../audit/actor';
import { appendAuditEvent } from '../audit/append';
import { consoleSigner } from '../audit/signing/console-signer';
import type { AuditSigner } from '../audit/signing/signer';
import { config } from '../config';
import type { ChangeRequest } from '../db/generated/client';
import type { Db, DbTransaction } from '../db/client';
import type { FleetMetrics } from '../fleet/metrics-store';
import { fencedDb, type Fence } from '../cluster/fenced-db';
import { analysisWindow, type CanaryHealth } from './analysis';
import { approvalsLapsedBeforeTraffic, holdOnFailedApprovals } from './approval-recheck';
import { planOf } from './change-request';
import { ACTIVE_STATES, type ChangeState, type RolloutOutcome } from './change-request.types';
import { sealEvidence } from './evidence';
import { canaryHealth, confirmApplied, onlineHosts, readDesiredModule, readZoneOverrides, reportedCrash, type ReportingHost } from './fleet-bridge';
import { hostSeconds } from './host-analysis';
import { probeProcessPreflight, type PreflightResult, type PreflightRunner } from './preflight';
import { escalateOverdueReviews } from './reviews';
import { loadRolloutSettings, type RolloutSettings } from './settings';
import { stepProgress, type StepVerdict } from './state-machine';
import { clearHandOff, confirmStep, enterStep, failPreflight, passStep, retirePrevious, rollBack, type Transition } from './transitions';
import { canaryZones, waveZones } from './waves';
import { deliverDueWebhooks } from './webhooks';
import { analyseWaveHosts, withWaveZones, zoneVerdicts } from './zone-analysis';
import { runWholeChange } from './whole-change';
import { lockRow } from '../db/row-locks';

// The rollout engine: one loop per control plane. Each tick reads every running rollout from the database and
// moves it at most one transition, written with its audit event in one transaction. It keeps nothing that
// matters in memory — a console killed with -9 and started again carries on from the rows: a step whose
// weights were written waits for the hosts to confirm them, a hold runs to its stored end, a preflight reruns.

export interface RolloutEngineOptions {
  db: Db;
  metrics: FleetMetrics;
  settings?: RolloutSettings;
  preflight?: PreflightRunner;
  consoleKey?: () => AuditSigner;
  log?: (line: string) => void;
  /** Run first in every transaction the engine opens; throws when this replica is no longer the leader. */
  fence?: Fence;
}

const PHASE_CONFIRM_LOOKBACK_MS = 3_600_000;

export class RolloutEngine {
  readonly settings: RolloutSettings;
  private readonly preflight: PreflightRunner;
  private readonly consoleKey: () => AuditSigner;
  private readonly log: (line: string) => void;
  private readonly preflights = new Map<string, Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private ticking: Promise<void> | null = null;
  private sending: Promise<unknown> | null = null;
  private readonly db: Db;

  constructor(private readonly options: RolloutEngineOptions) {
    this.db = options.fence ? fencedDb(options.db, options.fence) : options.db;
    this.settings = options.settings ?? loadRolloutSettings();
    this.preflight = options.preflight ?? probeProcessPreflight;
    this.consoleKey = options.consoleKey ?? consoleSigner;
    this.log = options.log ?? ((line) => console.error(`hotplane rollout: ${line}`));
  }

  start() {
    const loop = setInterval(() => void this.tick(), this.settings.tickMs);
    // Twice per retry interval, so a retry is never late by more than half of it.
    const webhooks = setInterval(() => void this.sendWebhooks(), this.settings.webhookRetryMs / 2);
    this.timers = [loop, webhooks];
    for (const timer of this.timers) timer.unref();
    return this;
  }

  /** Stops the timers and waits for the tick in progress; nothing is written on the way out (none is needed). */
  async stop() {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.all([this.ticking, this.sending, ...this.preflights.values()]);
  }

  /** One pass over every rollout; overlapping calls share the pass in progress. */
  tick(): Promise<void> {
    this.ticking ??= this.pass().finally(() => (this.ticking = null));
    return this.ticking;
  }

  private sendWebhooks() {
    this.sending ??= deliverDueWebhooks(this.db, { maxAttempts: this.settings.webhookMaxAttempts, retryMs: this.settings.webhookRetryMs })
      .catch((error: Error) => this.log(`webhooks: ${error.message}`))
      .finally(() => (this.sending = null));
    return this.sending;
  }

  private async pass() {
    const { db } = this;
    const now = Date.now();
    const rows = await db.changeRequest.findMany({
      where: {
        OR: [
          { state: { in: [...ACTIVE_STATES] } },
          { state: 'Promoted', previousRetiredAt: null, warmUntil: { lte: new Date(now) } },
          { evidenceDueAt: { lte: new Date(now) } },
        ],
      },
      select: { id: true, kind: true, state: true, evidenceDueAt: true, warmUntil: true, previousRetiredAt: true },
    });
    const warmOver = (r: { warmUntil: Date | null; previousRetiredAt: Date | null }) => !r.previousRetiredAt && r.warmUntil !== null && r.warmUntil.getTime() <= now;
    for (const row of rows) {
      try {
        if (row.state === 'Preflight') this.runPreflight(row.id, row.kind);
        else if (row.state === 'Canary' || row.state === 'Paused') await this.advanceCanary(row.id);
        else if (row.state === 'Promoted' && warmOver(row)) await this.transact(row.id, ['Promoted'], (t, r) => (warmOver(r) ? retirePrevious(t, r) : Promise.resolve()));
        if (row.evidenceDueAt && row.evidenceDueAt.getTime() <= now) {
          await sealEvidence(db, row.id, { metrics: this.options.metrics, consoleKey: this.consoleKey, snapshotSeconds: this.settings.snapshotSeconds });
        }
      } catch (error) {
        this.log(`${row.id}: ${(error as Error).message}`);
      }
    }
    await this.confirmFinishedPhases().catch((error: Error) => this.log(`confirming phases: ${error.message}`));
    await escalateOverdueReviews(db, now).catch((error: Error) => this.log(`overdue reviews: ${error.message}`));
  }

  /** Runs `step` on the request as it is inside the transaction, if it is still in one of `states`. */
  private transact(id: string, states: ChangeState[], step: (t: Transition, row: ChangeRequest) => Promise<unknown>) {
    return this.db.$transaction(async (tx) => {
      await lockRow(tx, 'ChangeRequest', id);
      const row = await tx.changeRequest.findUniqueOrThrow({ where: { id } });
      if (!states.includes(row.state as ChangeState)) return;
      await step({ tx, actor: SYSTEM_ACTOR, now: Date.now(), settings: this.settings }, row);
    });
  }

  private runPreflight(id: string, kind: string) {
    if (this.preflights.has(id)) return;
    const run = (async () => {
      if (kind !== 'upgrade') {
        await runWholeChange(this.db, id, { preflight: this.preflight, settings: this.settings });
        return;
      }
      const row = await this.db.changeRequest.findUniqueOrThrow({ where: { id } });
      const version = await this.db.moduleVersion.findUnique({ where: { moduleName_version: { moduleName: row.module, version: row.toVersion } } });
      const stable = (await this.db.$transaction((tx) => readDesiredModule(tx, row.module)))?.versions.find((v) => v.version === row.fromVersion);
      const result: PreflightResult = version
        ? await this.preflight({
            module: row.module,
            version: row.toVersion,
            path: await localArtifactPath(this.db, version.sm3),
            sm3: row.toSm3,
            config: stable?.config ?? '',
            selfTestLimitMs: this.settings.preflightSelfTestMs,
          })
        : { ok: false, report: `${row.module} ${row.toVersion} is gone from the registry`, timings: {} };
      // Only a request still in preflight takes the result: an abort during the probe wins, and of two probes
      // (one begun before a restart) the first to finish decides.
      await this.transact(id, ['Preflight'], async (t, current) => {
        const detail = `${result.report} (${Object.entries(result.timings).map(([k, v]) => `${k} ${v?.toFixed(1)}`).join(', ')})`;
        await t.tx.rolloutPhase.updateMany({ where: { changeRequestId: id, kind: 'preflight', endedAt: null }, data: { detail } });
        if (!result.ok) return failPreflight(t, current, result.report);
        const lapsed = await approvalsLapsedBeforeTraffic(t.tx, t.actor, current, t.now);
        if (lapsed) return failPreflight(t, current, lapsed);
        await appendAuditEvent(t.tx, { actor: t.actor, action: 'rollout.preflight_passed', targetType: 'change-request', targetId: id, details: { version: row.toVersion, ...result } });
        return enterStep(t, current, 0);
      });
    })()
      .catch((error: Error) => this.log(`${id} preflight: ${error.message}`))
      .finally(() => this.preflights.delete(id));
    this.preflights.set(id, run);
  }

  private async advanceCanary(id: string) {
    await this.transact(id, ['Canary', 'Paused'], async (t, current) => {
      const row = await holdOnFailedApprovals(t.tx, t.actor, current, t.now);
      const hosts = await onlineHosts(t.tx, t.now);
      const health = canaryHealth(hosts, row.module, row.toVersion);
      health.crashed ??= await reportedCrash(t.tx, row.module, row.toVersion, row.startedAt ?? new Date(t.now));
      if (health.crashed) {
        const outcome: RolloutOutcome = { trigger: row.stepPhase === 'confirming' ? 'load-failed' : 'breach', metric: 'crash', message: `rolled back at once: ${health.crashed}`, value: 1, threshold: 0 };
        await rollBack(t, row, 'breach', outcome);
        return;
      }
      if (row.stepPhase === 'confirming') return this.awaitConfirmation(t, row, hosts);
      await this.analyse(t, row, health, hosts);
    });
  }

  private async awaitConfirmation(t: Transition, row: ChangeRequest, hosts: ReportingHost[]) {
    const desired = await readDesiredModule(t.tx, row.module);
    const confirmation = confirmApplied(hosts, desired, row.module, row.stepGeneration ?? 0, await readZoneOverrides(t.tx, row.module));
    if (confirmation.confirmed) {
      await confirmStep(t, row);
      await clearHandOff(t, row);
      return;
    }
    if (row.state === 'Canary' && row.stepDeadlineAt && t.now >= row.stepDeadlineAt.getTime()) {
      await this.missDeadline(t, row, `the hosts did not confirm step ${row.stepIndex + 1} in time: ${confirmation.waiting.slice(0, 3).join('; ')}`);
    }
  }

  private missDeadline(t: Transition, row: ChangeRequest, message: string) {
    const plan = planOf(row);
    return rollBack(t, row, 'deadline', { trigger: 'deadline', metric: 'step-deadline', message, value: null, threshold: plan.stepDeadlineSeconds });
  }

  /**
   * Judges the canary when an interval has passed since the last judgement; stores and returns the decision. Only
   * online, unrevoked hosts in the zones the canary has reached are judged, each on its own seconds (host-analysis.ts),
   * and their verdicts are grouped by zone (zone-analysis.ts).
   */
  private async judge(t: Transition, row: ChangeRequest, health: CanaryHealth, online: readonly ReportingHost[]) {
    const plan = planOf(row);
    const { analysis } = plan;
    if (row.lastDecisionAt && t.now - row.lastDecisionAt.getTime() < analysis.intervalSeconds * 1000) return null;
    const step = await t.tx.rolloutPhase.findFirst({ where: { changeRequestId: row.id, kind: 'step', stepIndex: row.stepIndex, endedAt: null }, orderBy: { id: 'desc' } });
    const window = analysisWindow(t.now, analysis.windowSeconds, step?.confirmedAt?.getTime() ?? t.now);
    const reached = canaryZones(plan, row.waveIndex);
    const current = waveZones(plan, row.waveIndex);
    const hosts = reached ? online.filter((h) => reached.includes(h.zone)) : online;
    const perHost = this.options.metrics.moduleSecondsByHost(row.module, window.from, window.to, hosts.map((h) => h.id));
    const seconds = (inWave: boolean) =>
      hosts.filter((h) => !current || current.includes(h.zone) === inWave).map((h) => hostSeconds(h.name, perHost.get(h.id) ?? [], row.toVersion, row.fromVersion));
    const input = { settings: analysis, window, stableServesTraffic: plan.steps[row.stepIndex].weight < 100, health, quorum: config().analysisHostQuorum };
    const byHost = analyseWaveHosts(input, seconds(true), current ? seconds(false) : []);
    const zoneNames = reached ?? [...new Set(hosts.map((h) => h.zone))].sort();
    const zones = zoneVerdicts(new Map(hosts.map((h) => [h.name, h.zone])), byHost.hosts, zoneNames, current ?? zoneNames);
    const decision = reached ? withWaveZones(byHost, zones) : byHost;
    const stored = await t.tx.rolloutDecision.create({
      data: {
        changeRequestId: row.id,
        stepIndex: row.stepIndex,
        waveIndex: row.waveIndex,
        time: new Date(t.now),
        verdict: decision.verdict,
        metric: decision.metric,
        checks: JSON.stringify(decision.checks),
        windowFrom: new Date(window.from * 1000),
        windowTo: new Date((window.to + 1) * 1000),
        canaryRequests: decision.canaryRequests,
        stableRequests: decision.stableRequests,
        hostVerdicts: JSON.stringify(decision.hosts),
        zoneVerdicts: JSON.stringify(zones),
      },
    });
    await t.tx.changeRequest.update({ where: { id: row.id }, data: { lastDecisionAt: new Date(t.now) } });
    return { id: stored.id, ...decision };
  }

  private async analyse(t: Transition, row: ChangeRequest, health: CanaryHealth, hosts: readonly ReportingHost[]) {
    const decision = await this.judge(t, row, health, hosts);
    if (decision?.verdict === 'breach') {
      const failing = decision.checks.find((c) => c.metric === decision.metric)!;
      const iso = (second: number) => new Date(second * 1000).toISOString();
      await rollBack(t, row, 'breach', {
        trigger: 'breach',
        metric: failing.metric,
        value: failing.value,
        threshold: failing.threshold,
        window: { from: iso(decision.window.from), to: iso(decision.window.to + 1), seconds: decision.window.seconds },
        message: `${failing.metric} ${failing.value ?? '—'}${failing.unit} over the limit ${failing.threshold}${failing.unit} (${failing.detail})`,
      });
      return;
    }
    const lastVerdict =
      decision?.verdict ??
      ((await t.tx.rolloutDecision.findFirst({ where: { changeRequestId: row.id, stepIndex: row.stepIndex, waveIndex: row.waveIndex }, orderBy: { id: 'desc' } }))?.verdict as StepVerdict | undefined) ??
      null;
    const next = stepProgress({
      phase: 'holding',
      paused: row.state === 'Paused',
      now: t.now,
      holdUntil: row.holdUntil?.getTime() ?? null,
      deadlineAt: row.stepDeadlineAt?.getTime() ?? null,
      lastVerdict,
    });
    if (next === 'pass') await passStep(t, row, decision?.id ?? null);
    else if (next === 'deadline') {
      const plan = planOf(row);
      await this.missDeadline(t, row, `step ${row.stepIndex + 1} did not pass its analysis within ${plan.stepDeadlineSeconds} s: the last verdict was ${lastVerdict ?? 'none'}`);
    }
  }

  // Promotions, rollbacks and retirements are done when written; their confirmation only times them (evidence, benchmarks).
  private async confirmFinishedPhases() {
    const { db } = this;
    const since = new Date(Date.now() - PHASE_CONFIRM_LOOKBACK_MS);
    const [phases, reviews] = await Promise.all([
      db.rolloutPhase.findMany({ where: { confirmedAt: null, generation: { not: null }, kind: { in: ['promote', 'rollback', 'retire'] }, startedAt: { gte: since } }, include: { changeRequest: { select: { module: true } } } }),
      db.postIncidentReview.findMany({ where: { confirmedAt: null, openedAt: { gte: since } } }),
    ]);
    if (phases.length === 0 && reviews.length === 0) return;
    const hosts = await onlineHosts(db);
    const confirmed = async (tx: DbTransaction, module: string, generation: number) => confirmApplied(hosts, await readDesiredModule(tx, module), module, generation).confirmed;
    await db.$transaction(async (tx) => {
      for (const phase of phases) {
        if (await confirmed(tx, phase.changeRequest.module, phase.generation!)) {
          await tx.rolloutPhase.update({ where: { id: phase.id }, data: { confirmedAt: new Date(), endedAt: phase.endedAt ?? new Date() } });
          if (phase.kind !== 'retire') await clearHandOff({ tx, actor: SYSTEM_ACTOR, now: Date.now(), settings: this.settings }, await tx.changeRequest.findUniqueOrThrow({ where: { id: phase.changeRequestId } }));
        }
      }
      for (const review of reviews) {
        if (await confirmed(tx, review.module, review.generation)) await tx.postIncidentReview.update({ where: { id: review.id }, data: { confirmedAt: new Date() } });
      }
    });
  }
}
