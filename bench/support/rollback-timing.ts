// Rollback timing, end to end, until a real host serves every request from the stable version again — after a
// canary starts failing (the engine's own analysis decides), after a canary crashes, and after a one-click rollback.
// Real parts throughout: a SQLite file in a temp dir, the example .so builds accepted through the upload pipeline, a
// host running them in process cells, application traffic over loopback HTTP to the host's invoke API, and the
// rollout engine's own loop at the console's cadence. Used by bench/rollout.bench.ts and proof/rollback.proof.ts.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FleetMetrics } from '../../server/fleet/metrics-store';
import { createHostHttpServer } from '../../server/host/http-server';
import { proposeChange } from '../../server/rollout/change-request';
import type { RolloutOutcome } from '../../server/rollout/change-request.types';
import { RolloutEngine } from '../../server/rollout/engine';
import { startRollout } from '../../server/rollout/operate';
import { rollbackModule } from '../../server/rollout/rollback';
import { loadRolloutSettings, type RolloutSettings } from '../../server/rollout/settings';
import { startInProcessHost } from '../../server/testing/in-process-host';
import { createRolloutFixture } from '../../server/testing/rollout-fixture';
import { startInvokeTraffic, type Answer } from './invoke-traffic';
import { waitFor } from '../../server/testing/wait-for';

const TRAFFIC_PER_SECOND = 250;
// What server/host/agent.ts did before it long-polled: pull the desired state every 250 ms (it now hears of a change
// tens of milliseconds after its commit, so these figures are pessimistic by up to 250 ms), report once a second (and
// at once after an apply or a crash). The in-process host would report on every 200 ms sync by default, which would
// flatter the figures.
const HOST_PULL_MS = 250;
const HOST_REPORT_MS = 1_000;
const CANARY_WEIGHT = 20;
const SPLIT_SAMPLE_MS = 1_000;
const STABLE = '1.0.0';
const ONCALL = { id: 'oc-1', name: 'oncall@bench', roles: ['oncall'] };
// Enough canary traffic (50 requests a second at 20 % of 250) that the first complete second already holds a
// decisive number of faults: the figures then measure the control loop, not how long samples take to pile up.
const PLAN = {
  steps: [
    { weight: CANARY_WEIGHT, holdSeconds: 30 },
    { weight: 100, holdSeconds: 1 },
  ],
  analysis: { intervalSeconds: 1, windowSeconds: 5, minRequests: 5 },
  stepDeadlineSeconds: 60,
};

export interface TimingRow {
  metric: string;
  samples: number[];
  /** Both p50 and p99 must be within it; absent for breakdown rows. */
  goalMs?: number;
  goal: string;
}

export interface RollbackTimes {
  setup: string;
  rows: TimingRow[];
  /** 5xx answers callers got during the one-click runs (a healthy canary: there should be none). */
  failedAnswers: string[];
  /** Requests that got no HTTP answer at all. */
  socketErrors: number;
  /** The canary's share of answers (%) over one second of each one-click run's hold, set to `canaryWeight`. */
  canaryShares: number[];
  canaryWeight: number;
  /** Drain times of the canaries the one-click runs sent back (ms), as the host reported them. */
  drainMs: number[];
  /** One-click runs whose canary was still busy at the drain deadline. */
  drainTimeouts: number;
}

export async function measureRollbackTimes(runs: number, onRun: (run: number) => void = () => undefined): Promise<RollbackTimes> {
  const r = await createRolloutFixture();
  const settings: RolloutSettings = {
    ...r.settings,
    // The fixture ticks every 100 ms for quick tests; the console's own default is what counts here.
    tickMs: loadRolloutSettings().tickMs,
    // Every run ends rolled back, so the breaker would block the fourth start; this bench times rollbacks, not it.
    breaker: { ...r.settings.breaker, consecutiveFailures: Infinity, failureShare: Infinity },
  };
  const metrics = new FleetMetrics();
  const h = await startInProcessHost(r.f.db, metrics, { syncMs: HOST_PULL_MS, reportMs: HOST_REPORT_MS });
  const server = createHostHttpServer({ host: h.host, adminToken: randomBytes(16).toString('hex') }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  let onAnswer: (answer: Answer) => void = () => undefined;
  const traffic = startInvokeTraffic(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'ledger', TRAFFIC_PER_SECOND, (answer) => onAnswer(answer));
  const engine = new RolloutEngine({ db: r.f.db, metrics, settings, log: (line) => console.error(`rollout engine: ${line}`) });

  const ledgerStatuses = () => h.host.versionStatuses().filter((v) => v.module === 'ledger');
  // The host's own account (what it reports to the console): the stable serving at 100 and nothing else weighted.
  const allOnStable = () => ledgerStatuses().some((v) => v.version === STABLE && v.phase === 'serving' && v.weight === 100) && ledgerStatuses().every((v) => v.version === STABLE || v.weight === 0);
  const row = (id: string) => r.f.db.changeRequest.findUniqueOrThrow({ where: { id } });

  async function startCanary(toVersion: string): Promise<string> {
    const proposed = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion, plan: PLAN, reason: `bench: canary ${toVersion}` });
    await r.approve(proposed.id, proposed.digest);
    const started = await startRollout({ db: r.f.db, settings, metrics }, r.operator.actor, proposed.id);
    if (!started.started) throw new Error(`${proposed.id} did not start: ${started.reason}`);
    return proposed.id;
  }

  // The rollout must have ended as the scenario intends, or its timing describes something else.
  async function finishedAs(id: string, check: (outcome: RolloutOutcome) => boolean) {
    const done = await waitFor(`${id} to finish`, async () => {
      const current = await row(id);
      return current.state === 'RolledBack' ? current : null;
    });
    const outcome = JSON.parse(done.outcome!) as RolloutOutcome;
    if (!check(outcome)) throw new Error(`${id} was rolled back for another reason than the bench provoked: ${outcome.message}`);
    const rollback = await r.f.db.rolloutPhase.findFirstOrThrow({ where: { changeRequestId: id, kind: 'rollback' } });
    return rollback.startedAt.getTime();
  }

  // The next run starts from one loaded version, as production would after the canary's drain.
  // The host's own account of how long the canary took to finish its in-flight calls once it had no weight, from its
  // drain after `since` (each one-click run drains the same version): ms, or 'timed out' past the drain deadline.
  const drainSince = (version: string, since: number): number | 'timed out' => {
    const drain = h.host
      .recentEvents()
      .find((e) => e.module === 'ledger' && e.version === version && (e.kind === 'drained' || e.kind === 'drain-timeout') && Date.parse(e.time) >= since);
    if (!drain) throw new Error(`the host reported no drain of ${version} after the rollback`);
    return drain.kind === 'drain-timeout' ? 'timed out' : Number(/drained in (\d+) ms/.exec(drain.message)![1]);
  };
  const canaryGone = (canary: string) => waitFor(`the host to unload ${canary}`, () => !ledgerStatuses().some((v) => v.version === canary), { everyMs: 20 });

  interface AutoRun {
    toStable: number;
    toDecision: number;
    toLastCanaryAnswer: number;
  }

  /** Fault onset (the first faulty answer a caller gets from the canary) to the host serving only the stable. */
  async function autoRollback(canary: string, faultStatus: number, expect: (outcome: RolloutOutcome) => boolean): Promise<AutoRun> {
    let faultAt = 0;
    let lastCanaryAt = 0;
    onAnswer = (answer) => {
      if (answer.version !== canary) return;
      lastCanaryAt = answer.at;
      if (!faultAt && answer.status === faultStatus) faultAt = answer.at;
    };
    const id = await startCanary(canary);
    await waitFor(`a caller to get ${faultStatus} from ${canary}`, () => faultAt, { everyMs: 5 });
    await waitFor('the host to serve only the stable', allOnStable, { everyMs: 5 });
    const stableAt = Date.now();
    const decidedAt = await finishedAs(id, expect);
    await canaryGone(canary);
    onAnswer = () => undefined;
    return { toStable: stableAt - faultAt, toDecision: decidedAt - faultAt, toLastCanaryAnswer: lastCanaryAt - faultAt };
  }

  interface ClickRun {
    toStable: number;
    toCommitted: number;
    failedAnswers: string[];
    canaryShare: number;
    drain: number | 'timed out';
  }

  /** From calling the one-click rollback during a healthy canary's hold to the host serving only the stable. */
  async function oneClick(): Promise<ClickRun> {
    const canary = '1.1.0';
    const failedAnswers: string[] = [];
    const answeredBy = new Map<string, number>();
    onAnswer = (answer) => {
      // A late answer from the previous run's canary (already unloaded) is not this run's doing.
      const ours = answer.version === null || answer.version === STABLE || answer.version === canary;
      if (answer.status >= 500 && ours) failedAnswers.push(`${answer.status} from ${answer.version ?? 'no version'}${answer.reason ? `: ${answer.reason}` : ''}`);
      if (answer.version && !answer.sticky) answeredBy.set(answer.version, (answeredBy.get(answer.version) ?? 0) + 1);
    };
    const id = await startCanary(canary);
    await waitFor(`${canary} to hold at ${CANARY_WEIGHT} %`, async () => (await row(id)).stepPhase === 'holding');
    // The split callers without a gray id see over one second of the hold, against the weight the step set. Sticky
    // ids follow their hash, not the weights (three demo ids: one landing on the canary would move the share by points).
    answeredBy.clear();
    await sleep(SPLIT_SAMPLE_MS);
    const sampled = [...answeredBy.values()].reduce((a, b) => a + b, 0);
    const canaryShare = sampled ? (100 * (answeredBy.get(canary) ?? 0)) / sampled : Number.NaN;
    const clicked = Date.now();
    const result = await rollbackModule(r.f.db, ONCALL, { module: 'ledger', reason: 'bench: one-click rollback' }, settings);
    const committed = Date.now();
    if (result.changeRequestId !== id || result.to !== STABLE) throw new Error(`one click went elsewhere: ${JSON.stringify(result)}`);
    await waitFor('the host to serve only the stable', allOnStable, { everyMs: 5 });
    const stableAt = Date.now();
    await finishedAs(id, (outcome) => outcome.trigger === 'one-click');
    await canaryGone(canary);
    onAnswer = () => undefined;
    return { toStable: stableAt - clicked, toCommitted: committed - clicked, failedAnswers, canaryShare, drain: drainSince(canary, clicked) };
  }


  try {
    await waitFor(`the host to serve ledger ${STABLE}`, allOnStable);
    engine.start();
    const errorRuns: AutoRun[] = [];
    const crashRuns: AutoRun[] = [];
    const clickRuns: ClickRun[] = [];
    for (let run = 0; run < runs; run++) {
      errorRuns.push(await autoRollback('1.2.3', 500, (o) => o.trigger === 'breach' && o.metric?.startsWith('error-rate') === true));
      crashRuns.push(await autoRollback('1.2.4', 502, (o) => o.metric === 'crash'));
      clickRuns.push(await oneClick());
      onRun(run + 1);
    }
    return {
      setup:
        `ledger rollouts against a real host: ${TRAFFIC_PER_SECOND} req/s over HTTP, canary at ${CANARY_WEIGHT} %, analysis every ` +
        `${PLAN.analysis.intervalSeconds} s over ${PLAN.analysis.windowSeconds} s (min ${PLAN.analysis.minRequests} requests), engine tick ${settings.tickMs} ms, host pull every ${HOST_PULL_MS} ms, report every ${HOST_REPORT_MS} ms or at once on a crash, ${runs} runs each`,
      rows: [
        { metric: 'auto-rollback, error-prone 1.2.3: first fault → host on stable', samples: errorRuns.map((x) => x.toStable), goalMs: 3_000, goal: '≤ 3000 ms' },
        { metric: '  of which first fault → engine decides to roll back', samples: errorRuns.map((x) => x.toDecision), goal: '(breakdown)' },
        { metric: 'auto-rollback, crash 1.2.4: SIGSEGV → host on stable', samples: crashRuns.map((x) => x.toStable), goalMs: 1_000, goal: '≤ 1000 ms' },
        { metric: '  of which SIGSEGV → engine decides to roll back', samples: crashRuns.map((x) => x.toDecision), goal: '(breakdown)' },
        { metric: '  SIGSEGV → last answer from the crashing canary', samples: crashRuns.map((x) => x.toLastCanaryAnswer), goal: '(restarted cells crash again)' },
        { metric: 'one-click rollback during a canary: call → host on stable', samples: clickRuns.map((x) => x.toStable), goalMs: 5_000, goal: '≤ 5000 ms (interruption ≤ 30 s)' },
        { metric: '  of which rollbackModule committed', samples: clickRuns.map((x) => x.toCommitted), goal: '(breakdown)' },
      ],
      failedAnswers: clickRuns.flatMap((x) => x.failedAnswers),
      canaryShares: clickRuns.map((x) => x.canaryShare).filter(Number.isFinite),
      canaryWeight: CANARY_WEIGHT,
      drainMs: clickRuns.flatMap((x) => (x.drain === 'timed out' ? [] : [x.drain])),
      drainTimeouts: clickRuns.filter((x) => x.drain === 'timed out').length,
      socketErrors: traffic.socketErrors,
    };
  } finally {
    traffic.stop();
    await engine.stop();
    server.close();
    await h.stop();
  }
}
