import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_TOTALS, type MetricTotals } from '../fleet/metric-math';
import { analyseCanary, analysisWindow, type AnalysisInput } from './analysis';
import { analysisSchema } from './change-request.types';

const settings = analysisSchema.parse({});

/** `n` seconds of traffic: requests per second, faults per second, p95 in ms. */
function seconds(n: number, perSecond: { requests: number; faults?: number; p95Ms?: number; crashes?: number }): MetricTotals[] {
  const faults = perSecond.faults ?? 0;
  return Array.from({ length: n }, () => ({
    ...EMPTY_TOTALS,
    requests: perSecond.requests,
    ok: perSecond.requests - faults,
    errors5xx: faults,
    crashes: perSecond.crashes ?? 0,
    p50: ((perSecond.p95Ms ?? 1) * 1000) / 2,
    p95: (perSecond.p95Ms ?? 1) * 1000,
    p99: (perSecond.p95Ms ?? 1) * 1000,
    max: (perSecond.p95Ms ?? 1) * 1000,
  }));
}

function input(overrides: Partial<AnalysisInput>): AnalysisInput {
  return {
    settings,
    window: { from: 100, to: 109 },
    canary: seconds(10, { requests: 10 }),
    stable: seconds(10, { requests: 90 }),
    stableServesTraffic: true,
    health: { crashed: null, unhealthy: null },
    ...overrides,
  };
}

const checkOf = (decision: ReturnType<typeof analyseCanary>, metric: string) => decision.checks.find((c) => c.metric === metric)!;

describe('canary analysis', () => {
  it('passes a canary as good as the stable, with every check recorded', () => {
    const decision = analyseCanary(input({}));
    assert.equal(decision.verdict, 'pass');
    assert.equal(decision.metric, null);
    assert.deepEqual(decision.checks.map((c) => c.metric), ['crash', 'health', 'error-rate', 'error-rate-vs-stable', 'p95-latency', 'p95-vs-stable']);
    assert.equal(decision.canaryRequests, 100);
    assert.equal(decision.stableRequests, 900);
    assert.deepEqual(decision.window, { from: 100, to: 109, seconds: 10 });
  });

  it('empty data is inconclusive, never a pass', () => {
    const decision = analyseCanary(input({ canary: [], stable: [] }));
    assert.equal(decision.verdict, 'inconclusive');
    assert.equal(decision.metric, 'error-rate');
    assert.equal(checkOf(decision, 'error-rate').value, null);
  });

  it('an empty window (from after to) is inconclusive', () => {
    const decision = analyseCanary(input({ window: { from: 110, to: 109 }, canary: [], stable: [] }));
    assert.equal(decision.verdict, 'inconclusive');
    assert.equal(decision.window.seconds, 0);
  });

  it('too few canary requests holds the step', () => {
    const decision = analyseCanary(input({ canary: seconds(10, { requests: 1 }) }));
    assert.equal(decision.verdict, 'inconclusive');
    assert.match(checkOf(decision, 'error-rate').detail, /10 canary requests, 20 needed/);
  });

  it('NaN, infinite and negative seconds are left out, never counted as good', () => {
    const broken: MetricTotals[] = [
      { ...EMPTY_TOTALS, requests: Number.NaN },
      { ...EMPTY_TOTALS, requests: 50, ok: 50, p95: Number.POSITIVE_INFINITY },
      { ...EMPTY_TOTALS, requests: -5 },
    ];
    const onlyBroken = analyseCanary(input({ canary: broken }));
    assert.equal(onlyBroken.verdict, 'inconclusive');
    assert.equal(onlyBroken.canaryRequests, 0);
    assert.match(checkOf(onlyBroken, 'crash').detail, /3 malformed second\(s\) left out/);
    const mixed = analyseCanary(input({ canary: [...broken, ...seconds(10, { requests: 10 })] }));
    assert.equal(mixed.verdict, 'pass');
    assert.equal(mixed.canaryRequests, 100);
    for (const check of mixed.checks) for (const v of [check.value, check.baseline, check.threshold]) assert.ok(v === null || Number.isFinite(v));
  });

  it('an error rate above the absolute limit is a breach naming value, threshold and the count', () => {
    const decision = analyseCanary(input({ canary: seconds(10, { requests: 8, faults: 2 }) }));
    assert.equal(decision.verdict, 'breach');
    assert.equal(decision.metric, 'error-rate');
    const check = checkOf(decision, 'error-rate');
    assert.equal(check.value, 25);
    assert.equal(check.threshold, 1);
    assert.equal(check.unit, '%');
    assert.match(check.detail, /20 of 80 canary requests failed/);
  });

  it('a few faults decide a breach before the window holds enough requests', () => {
    const decision = analyseCanary(input({ window: { from: 100, to: 101 }, canary: seconds(2, { requests: 4, faults: 2 }) }));
    assert.equal(decision.verdict, 'breach');
    assert.equal(decision.metric, 'error-rate');
    const one = analyseCanary(input({ window: { from: 100, to: 100 }, canary: seconds(1, { requests: 4, faults: 1 }) }));
    assert.equal(one.verdict, 'inconclusive', 'one fault in four requests is not yet a verdict');
  });

  it('the relative error check compares with the stable and skips a spotless one', () => {
    const relaxed = { ...settings, maxErrorPercent: 50 };
    const worse = analyseCanary(input({ settings: relaxed, canary: seconds(10, { requests: 10, faults: 1 }), stable: seconds(10, { requests: 100, faults: 2 }) }));
    assert.equal(worse.verdict, 'breach');
    assert.equal(worse.metric, 'error-rate-vs-stable');
    const check = checkOf(worse, 'error-rate-vs-stable');
    assert.equal(check.value, 10);
    assert.equal(check.baseline, 2);
    assert.equal(check.threshold, 4);
    const spotless = analyseCanary(input({ settings: relaxed, canary: seconds(10, { requests: 10, faults: 1 }) }));
    assert.equal(checkOf(spotless, 'error-rate-vs-stable').result, 'skipped');
    assert.equal(spotless.verdict, 'pass');
  });

  it('p95 relative to the stable breaches beyond +20 % and the noise floor', () => {
    const slow = analyseCanary(input({ canary: seconds(10, { requests: 10, p95Ms: 251 }), stable: seconds(10, { requests: 90, p95Ms: 1 }) }));
    assert.equal(slow.verdict, 'breach');
    assert.equal(slow.metric, 'p95-vs-stable');
    assert.equal(checkOf(slow, 'p95-vs-stable').threshold, 6);
    const jitter = analyseCanary(input({ canary: seconds(10, { requests: 10, p95Ms: 0.5 }), stable: seconds(10, { requests: 90, p95Ms: 0.2 }) }));
    assert.equal(jitter.verdict, 'pass', 'sub-millisecond jitter is not a regression');
    const relative = analyseCanary(input({ canary: seconds(10, { requests: 10, p95Ms: 130 }), stable: seconds(10, { requests: 90, p95Ms: 100 }) }));
    assert.equal(relative.metric, 'p95-vs-stable');
    assert.equal(checkOf(relative, 'p95-vs-stable').threshold, 120);
  });

  it('p95 above the absolute limit breaches even when the stable is as slow', () => {
    const decision = analyseCanary(input({ canary: seconds(10, { requests: 10, p95Ms: 1500 }), stable: seconds(10, { requests: 90, p95Ms: 1500 }) }));
    assert.equal(decision.verdict, 'breach');
    assert.equal(decision.metric, 'p95-latency');
  });

  it('a crash breaches at once, without waiting for samples', () => {
    const fromMetrics = analyseCanary(input({ canary: seconds(1, { requests: 1, crashes: 1 }) }));
    assert.equal(fromMetrics.verdict, 'breach');
    assert.equal(fromMetrics.metric, 'crash');
    const fromHost = analyseCanary(input({ canary: [], health: { crashed: 'h1: 1.2.4 crashed (signal SIGSEGV)', unhealthy: null } }));
    assert.equal(fromHost.metric, 'crash');
    assert.match(checkOf(fromHost, 'crash').detail, /SIGSEGV/);
  });

  it('failing health probes breach, naming the host threshold', () => {
    const decision = analyseCanary(input({ health: { crashed: null, unhealthy: 'h1: unhealthy: hp_health returned -1' } }));
    assert.equal(decision.metric, 'health');
    assert.equal(checkOf(decision, 'health').threshold, 3);
  });

  it('at 100 % the stable takes no traffic: relative checks are skipped, not inconclusive', () => {
    const decision = analyseCanary(input({ stable: [], stableServesTraffic: false }));
    assert.equal(decision.verdict, 'pass');
    assert.equal(checkOf(decision, 'error-rate-vs-stable').result, 'skipped');
    assert.equal(checkOf(decision, 'p95-vs-stable').result, 'skipped');
  });

  it('the window covers the last complete seconds and never reaches back before the confirming second', () => {
    assert.deepEqual(analysisWindow(110_500, 10, 0), { from: 100, to: 109 });
    assert.deepEqual(analysisWindow(110_500, 10, 105_200), { from: 105, to: 109 });
    assert.deepEqual(analysisWindow(110_500, 10, 110_400), { from: 110, to: 109 }, 'nothing complete since the confirmation');
  });
});
