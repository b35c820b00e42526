import type { MetricTotals } from '../fleet/metric-math';
import type { AnalysisSettings } from './change-request.types';
import type { StepVerdict } from './state-machine';

// The canary judged against the stable over a sliding window of per-second metrics. Pure: the engine feeds it
// what the hosts reported and stores what it returns, every value and threshold included, so a page can say
// exactly why a step held, passed or rolled back.

/** The host marks a version unhealthy after this many consecutive failed hp_health probes (server/host). */
export const FAILED_PROBES_UNHEALTHY = 3;
/** A handful of faults decides a breach before the window holds minRequests: waiting for more only serves more faults. */
export const FAULTS_DECISIVE = 3;

export type CheckMetric = 'crash' | 'health' | 'error-rate' | 'error-rate-vs-stable' | 'p95-latency' | 'p95-vs-stable' | 'host-quorum' | 'wave-zones';
export type CheckResult = 'pass' | 'breach' | 'inconclusive' | 'skipped';

export interface AnalysisCheck {
  metric: CheckMetric;
  result: CheckResult;
  /** The canary's value (percent, milliseconds or a count); null when there was nothing to measure. */
  value: number | null;
  /** The stable's value, for the relative checks. */
  baseline: number | null;
  /** The limit the value was held against. */
  threshold: number | null;
  unit: '%' | 'ms' | 'count';
  detail: string;
}

export interface AnalysisWindow {
  /** Epoch seconds, both ends included; from > to is an empty window. */
  from: number;
  to: number;
}

export interface CanaryHealth {
  /** Why a host says the canary crashed or failed to load, or null. */
  crashed: string | null;
  /** Why a host says the canary is unhealthy, or null. */
  unhealthy: string | null;
}

export interface AnalysisInput {
  settings: AnalysisSettings;
  window: AnalysisWindow;
  canary: readonly MetricTotals[];
  stable: readonly MetricTotals[];
  /** False at a 100 % step: the stable takes no traffic, so there is nothing to compare against. */
  stableServesTraffic: boolean;
  health: CanaryHealth;
}

export interface AnalysisDecision {
  verdict: StepVerdict;
  /** The check that decided a breach, or that kept the step inconclusive. */
  metric: CheckMetric | null;
  checks: AnalysisCheck[];
  window: AnalysisWindow & { seconds: number };
  canaryRequests: number;
  stableRequests: number;
}

/**
 * The last `windowSeconds` complete seconds before `nowMs`, from the second in which the hosts confirmed the
 * canary's weights on (`notBeforeMs`): earlier seconds describe another traffic split. The confirming second
 * itself counts, though part of it may precede the switch: waiting for the next whole second would delay
 * every verdict, a breach included, by up to a second.
 */
export function analysisWindow(nowMs: number, windowSeconds: number, notBeforeMs: number): AnalysisWindow {
  const to = Math.floor(nowMs / 1000) - 1;
  return { from: Math.max(to - windowSeconds + 1, Math.floor(notBeforeMs / 1000)), to };
}

interface Summary {
  requests: number;
  faults: number;
  crashes: number;
  /** Request-weighted mean of the per-second p95s, in ms; null without requests. */
  p95Ms: number | null;
  discarded: number;
}

// A second with a NaN, an infinity or a negative count is not a measurement: it is left out and counted.
function usable(totals: MetricTotals): boolean {
  return Object.values(totals).every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
}

// The true p95 of a window cannot be rebuilt from per-second summaries. The request-weighted mean of the
// seconds' p95s follows it closely; the maximum would let one slow second decide a whole window.
function summarise(seconds: readonly MetricTotals[]): Summary {
  const kept = seconds.filter(usable);
  let requests = 0;
  let faults = 0;
  let crashes = 0;
  let weightedP95 = 0;
  for (const s of kept) {
    requests += s.requests;
    faults += s.errors5xx + s.timeouts;
    crashes += s.crashes;
    weightedP95 += s.p95 * s.requests;
  }
  return { requests, faults, crashes, p95Ms: requests > 0 ? weightedP95 / requests / 1000 : null, discarded: seconds.length - kept.length };
}

const round = (value: number) => Math.round(value * 1000) / 1000;
const percent = (s: Summary) => (s.requests > 0 ? (100 * s.faults) / s.requests : null);

function check(metric: CheckMetric, result: CheckResult, unit: AnalysisCheck['unit'], values: { value?: number | null; baseline?: number | null; threshold?: number | null }, detail: string): AnalysisCheck {
  const r = (v: number | null | undefined) => (v === null || v === undefined ? null : round(v));
  return { metric, result, value: r(values.value), baseline: r(values.baseline), threshold: r(values.threshold), unit, detail };
}

function crashCheck(canary: Summary, health: CanaryHealth): AnalysisCheck {
  if (health.crashed) return check('crash', 'breach', 'count', { value: Math.max(1, canary.crashes), threshold: 0 }, health.crashed);
  if (canary.crashes > 0) return check('crash', 'breach', 'count', { value: canary.crashes, threshold: 0 }, `${canary.crashes} call(s) ended in a dead cell`);
  return check('crash', 'pass', 'count', { value: 0, threshold: 0 }, 'no crash');
}

function healthCheck(health: CanaryHealth): AnalysisCheck {
  if (health.unhealthy) return check('health', 'breach', 'count', { value: FAILED_PROBES_UNHEALTHY, threshold: FAILED_PROBES_UNHEALTHY }, health.unhealthy);
  return check('health', 'pass', 'count', { threshold: FAILED_PROBES_UNHEALTHY }, 'probes pass');
}

function tooFew(s: Summary, settings: AnalysisSettings): boolean {
  return s.requests < settings.minRequests;
}

function errorRateCheck(canary: Summary, settings: AnalysisSettings): AnalysisCheck {
  const rate = percent(canary);
  const threshold = settings.maxErrorPercent;
  if (rate === null) return check('error-rate', 'inconclusive', '%', { threshold }, 'no canary requests in the window');
  if (rate > threshold && (!tooFew(canary, settings) || canary.faults >= FAULTS_DECISIVE)) {
    return check('error-rate', 'breach', '%', { value: rate, threshold }, `${canary.faults} of ${canary.requests} canary requests failed`);
  }
  if (tooFew(canary, settings)) {
    return check('error-rate', 'inconclusive', '%', { value: rate, threshold }, `${canary.requests} canary requests, ${settings.minRequests} needed`);
  }
  return check('error-rate', 'pass', '%', { value: rate, threshold }, `${canary.faults} of ${canary.requests} canary requests failed`);
}

function errorRatioCheck(canary: Summary, stable: Summary, input: AnalysisInput): AnalysisCheck {
  const { settings } = input;
  const rate = percent(canary);
  const stableRate = percent(stable);
  if (!input.stableServesTraffic) return check('error-rate-vs-stable', 'skipped', '%', { value: rate }, 'the stable takes no traffic at this step');
  if (tooFew(stable, settings) || stableRate === null) {
    return check('error-rate-vs-stable', 'inconclusive', '%', { value: rate, baseline: stableRate }, `${stable.requests} stable requests, ${settings.minRequests} needed`);
  }
  // Twice nothing is nothing: against a spotless stable the absolute limit decides.
  if (stableRate === 0) return check('error-rate-vs-stable', 'skipped', '%', { value: rate, baseline: 0 }, 'the stable had no faults; the absolute limit applies');
  const threshold = stableRate * settings.maxErrorRatio;
  if (rate === null) return check('error-rate-vs-stable', 'inconclusive', '%', { baseline: stableRate, threshold }, 'no canary requests in the window');
  if (rate > threshold && (!tooFew(canary, settings) || canary.faults >= FAULTS_DECISIVE)) {
    return check('error-rate-vs-stable', 'breach', '%', { value: rate, baseline: stableRate, threshold }, `canary fails ${round(rate / stableRate)}× as often as the stable`);
  }
  if (tooFew(canary, settings)) {
    return check('error-rate-vs-stable', 'inconclusive', '%', { value: rate, baseline: stableRate, threshold }, `${canary.requests} canary requests, ${settings.minRequests} needed`);
  }
  return check('error-rate-vs-stable', 'pass', '%', { value: rate, baseline: stableRate, threshold }, 'within the ratio');
}

function p95Check(canary: Summary, settings: AnalysisSettings): AnalysisCheck {
  const threshold = settings.maxP95Ms;
  if (tooFew(canary, settings) || canary.p95Ms === null) {
    return check('p95-latency', 'inconclusive', 'ms', { value: canary.p95Ms, threshold }, `${canary.requests} canary requests, ${settings.minRequests} needed`);
  }
  return canary.p95Ms > threshold
    ? check('p95-latency', 'breach', 'ms', { value: canary.p95Ms, threshold }, 'canary p95 above the limit')
    : check('p95-latency', 'pass', 'ms', { value: canary.p95Ms, threshold }, 'within the limit');
}

function p95RatioCheck(canary: Summary, stable: Summary, input: AnalysisInput): AnalysisCheck {
  const { settings } = input;
  if (!input.stableServesTraffic) return check('p95-vs-stable', 'skipped', 'ms', { value: canary.p95Ms }, 'the stable takes no traffic at this step');
  if (tooFew(canary, settings) || tooFew(stable, settings) || canary.p95Ms === null || stable.p95Ms === null) {
    return check('p95-vs-stable', 'inconclusive', 'ms', { value: canary.p95Ms, baseline: stable.p95Ms }, `${canary.requests} canary and ${stable.requests} stable requests, ${settings.minRequests} each needed`);
  }
  const threshold = Math.max(stable.p95Ms * settings.maxP95Ratio, stable.p95Ms + settings.p95NoiseMs);
  return canary.p95Ms > threshold
    ? check('p95-vs-stable', 'breach', 'ms', { value: canary.p95Ms, baseline: stable.p95Ms, threshold }, `canary p95 is ${round(canary.p95Ms / stable.p95Ms)}× the stable's`)
    : check('p95-vs-stable', 'pass', 'ms', { value: canary.p95Ms, baseline: stable.p95Ms, threshold }, 'within the ratio');
}

/** Any breach rolls back; otherwise anything inconclusive holds; only all checks passing (or skipped) passes. */
export function analyseCanary(input: AnalysisInput): AnalysisDecision {
  const canary = summarise(input.canary);
  const stable = summarise(input.stable);
  const checks = [
    crashCheck(canary, input.health),
    healthCheck(input.health),
    errorRateCheck(canary, input.settings),
    errorRatioCheck(canary, stable, input),
    p95Check(canary, input.settings),
    p95RatioCheck(canary, stable, input),
  ];
  if (canary.discarded + stable.discarded > 0) {
    for (const c of checks) c.detail += `; ${canary.discarded + stable.discarded} malformed second(s) left out`;
  }
  const breach = checks.find((c) => c.result === 'breach');
  const held = checks.find((c) => c.result === 'inconclusive');
  const seconds = Math.max(0, input.window.to - input.window.from + 1);
  return {
    verdict: breach ? 'breach' : held ? 'inconclusive' : 'pass',
    metric: (breach ?? held)?.metric ?? null,
    checks,
    window: { ...input.window, seconds },
    canaryRequests: canary.requests,
    stableRequests: stable.requests,
  };
}
