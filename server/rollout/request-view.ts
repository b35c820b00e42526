import type { Db } from '../db/client';
import type { AnalysisCheck, CheckMetric, CheckResult } from './analysis';
import type { BreakerSettings } from './circuit-breaker';
import type { ChangeState, RolloutPlan } from './change-request.types';
import { changeDetail, decisionView } from './views';

// The request page's read model: the detail plus what an operator reads above the fold — where the step's hold
// stands, the latest verdict as numbers, canary against stable over the recent judgements — and how many
// judgements there are in all, so the history below is never silently cut.

type DecisionView = ReturnType<typeof decisionView>;

/** Where the current step stands; times are epoch milliseconds from the server, the page ticks them down itself. */
export interface StepClock {
  phase: 'not-started' | 'confirming' | 'holding' | 'paused' | 'finished';
  /** 1-based; null before the first step. */
  step: number | null;
  of: number;
  weight: number | null;
  holdSeconds: number | null;
  /** When the hold of this step ends; a passing verdict after it moves the canary on. */
  holdEndsAt: number | null;
  /** The step that follows, or null when the next move is the promotion. */
  next: { step: number; weight: number } | null;
  /** The step rolls back if it has not passed by then. */
  deadlineAt: number | null;
  pausedAt: number | null;
}

const RUNNING_STATES: readonly ChangeState[] = ['Canary', 'Paused'];
const ms = (date: Date | string | null) => (date === null ? null : new Date(date).getTime());

export function stepClock(
  row: { state: ChangeState; step: { index: number; phase: string | null } | null; holdUntil: Date | string | null; stepDeadlineAt: Date | string | null; pausedAt: Date | string | null },
  plan: RolloutPlan,
): StepClock {
  const of = plan.steps.length;
  const index = row.step?.index ?? null;
  const running = RUNNING_STATES.includes(row.state);
  const current = index === null ? null : plan.steps[index];
  const phase: StepClock['phase'] =
    index === null ? (running ? 'confirming' : 'not-started') : !running ? 'finished' : row.state === 'Paused' ? 'paused' : row.step?.phase === 'holding' ? 'holding' : 'confirming';
  const next = index !== null && index + 1 < of ? { step: index + 2, weight: plan.steps[index + 1].weight } : null;
  return {
    phase,
    step: index === null ? null : index + 1,
    of,
    weight: current?.weight ?? null,
    holdSeconds: current?.holdSeconds ?? null,
    holdEndsAt: phase === 'holding' ? ms(row.holdUntil) : null,
    next,
    deadlineAt: running ? ms(row.stepDeadlineAt) : null,
    pausedAt: phase === 'paused' ? ms(row.pausedAt) : null,
  };
}

/** One metric of a verdict: the canary's value against its own limit and against the stable's. */
export interface VerdictMetric {
  canary: number | null;
  stable: number | null;
  /** The absolute limit. */
  limit: number | null;
  /** The limit derived from the stable (ratio, or stable plus noise for p95); null when the stable does not count. */
  limitVsStable: number | null;
  result: CheckResult;
}

export interface VerdictSummary {
  id: number;
  time: Date | string;
  step: number;
  verdict: DecisionView['verdict'];
  /** The check that decided a breach or held the step. */
  metric: string | null;
  canaryRequests: number;
  stableRequests: number;
  errorRate: VerdictMetric;
  p95: VerdictMetric;
}

const SEVERITY: Record<CheckResult, number> = { skipped: 0, pass: 1, inconclusive: 2, breach: 3 };

function pair(checks: AnalysisCheck[], absolute: CheckMetric, relative: CheckMetric): VerdictMetric {
  const own = checks.find((c) => c.metric === absolute);
  const vs = checks.find((c) => c.metric === relative);
  const results = [own?.result ?? 'skipped', vs?.result ?? 'skipped'];
  return {
    canary: own?.value ?? vs?.value ?? null,
    stable: vs?.baseline ?? null,
    limit: own?.threshold ?? null,
    limitVsStable: vs?.threshold ?? null,
    result: results.reduce((worst, r) => (SEVERITY[r] > SEVERITY[worst] ? r : worst)),
  };
}

export function verdictSummary(decision: DecisionView | undefined): VerdictSummary | null {
  if (!decision) return null;
  return {
    id: decision.id,
    time: decision.time,
    step: decision.step,
    verdict: decision.verdict,
    metric: decision.metric,
    canaryRequests: decision.canaryRequests,
    stableRequests: decision.stableRequests,
    errorRate: pair(decision.checks, 'error-rate', 'error-rate-vs-stable'),
    p95: pair(decision.checks, 'p95-latency', 'p95-vs-stable'),
  };
}

/** One judgement as chart points: canary and stable error rate (%) and p95 (ms), with the limits derived from the stable. */
export interface CanaryVsStablePoint {
  t: number;
  canaryErrorPercent: number | null;
  stableErrorPercent: number | null;
  errorLimitVsStable: number | null;
  canaryP95Ms: number | null;
  stableP95Ms: number | null;
  p95LimitVsStable: number | null;
}

/** Oldest first, whatever order the decisions come in. */
export function canaryVsStableSeries(decisions: DecisionView[]): CanaryVsStablePoint[] {
  return decisions
    .map((d) => {
      const v = verdictSummary(d)!;
      return {
        t: new Date(d.time).getTime(),
        canaryErrorPercent: v.errorRate.canary,
        stableErrorPercent: v.errorRate.stable,
        errorLimitVsStable: v.errorRate.limitVsStable,
        canaryP95Ms: v.p95.canary,
        stableP95Ms: v.p95.stable,
        p95LimitVsStable: v.p95.limitVsStable,
      };
    })
    .sort((a, b) => a.t - b.t);
}

/** The analysis history newest first, a page at a time: `beforeId` is the last id of the page before. */
export async function decisionsNewestFirst(db: Db, id: string, options: { beforeId?: number; limit: number }) {
  const rows = await db.rolloutDecision.findMany({
    where: { changeRequestId: id, id: options.beforeId ? { lt: options.beforeId } : undefined },
    orderBy: { id: 'desc' },
    take: options.limit,
  });
  return rows.map(decisionView);
}

/** The request page, pushed whole by `changes.watch`: the detail, the step clock, the latest verdict, the chart and the judgement count. */
export async function requestPageDetail(db: Db, id: string, viewerId: string, breakerSettings: BreakerSettings) {
  const [detail, decisionCount] = await Promise.all([changeDetail(db, id, viewerId, breakerSettings), db.rolloutDecision.count({ where: { changeRequestId: id } })]);
  return {
    ...detail,
    clock: stepClock(detail, detail.plan),
    latestVerdict: verdictSummary(detail.decisions[0]),
    canaryVsStable: canaryVsStableSeries(detail.decisions),
    decisionCount,
  };
}
export type RequestPageDetail = Awaited<ReturnType<typeof requestPageDetail>>;
