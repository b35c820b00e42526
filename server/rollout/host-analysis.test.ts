import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_TOTALS, type MetricTotals } from '../fleet/metric-math';
import { analyseCanary } from './analysis';
import { analysisSchema } from './change-request.types';
import { analyseCanaryPerHost, type HostSeconds, type PerHostAnalysisInput } from './host-analysis';

const settings = analysisSchema.parse({});

function seconds(n: number, requests: number, faults = 0): MetricTotals[] {
  return Array.from({ length: n }, () => ({ ...EMPTY_TOTALS, requests, ok: requests - faults, errors5xx: faults, p50: 500, p95: 1000, p99: 1000, max: 1000 }));
}

const host = (name: string, canary: MetricTotals[], stable = seconds(10, 90)): HostSeconds => ({ host: name, canary, stable });

function input(hosts: HostSeconds[], overrides: Partial<PerHostAnalysisInput> = {}): PerHostAnalysisInput {
  return { settings, window: { from: 100, to: 109 }, hosts, stableServesTraffic: true, health: { crashed: null, unhealthy: null }, quorum: 0, ...overrides };
}

describe('canary analysis per host', () => {
  it('attack: one host reporting a flood of clean canary requests cannot outvote a host whose canary fails 25 % of calls', () => {
    const honest = host('edge-1', seconds(10, 20, 5));
    const forged = host('edge-2', seconds(10, 40_000));
    const summed = analyseCanary({ ...input([]), canary: [...honest.canary, ...forged.canary], stable: [...honest.stable, ...forged.stable], health: { crashed: null, unhealthy: null } });
    assert.equal(summed.verdict, 'pass', 'summed over the fleet, the forged host hides the failing canary (the old behaviour)');

    const decision = analyseCanaryPerHost(input([honest, forged]));
    assert.equal(decision.verdict, 'breach');
    assert.equal(decision.metric, 'error-rate');
    const failing = decision.checks.find((c) => c.metric === 'error-rate')!;
    assert.equal(failing.value, 25);
    assert.match(failing.detail, /^edge-1: 50 of 200 canary requests failed$/);
    assert.deepEqual(decision.hosts.map((h) => [h.host, h.verdict, h.metric]), [['edge-1', 'breach', 'error-rate'], ['edge-2', 'pass', null]]);
  });

  it('attack: a host cannot push a step through alone while the other hosts have not had enough requests to be judged, under a quorum of two', () => {
    const decision = analyseCanaryPerHost(input([host('edge-1', seconds(10, 40_000)), host('edge-2', seconds(1, 3)), host('edge-3', [])], { quorum: 2 }));
    assert.equal(decision.verdict, 'inconclusive');
    assert.equal(decision.metric, 'host-quorum');
    const quorum = decision.checks.find((c) => c.metric === 'host-quorum')!;
    assert.deepEqual([quorum.value, quorum.baseline, quorum.threshold], [1, 1, 2]);
    assert.match(quorum.detail, /1 of 1 judged host\(s\) pass, 2 needed \(HOTPLANE_ANALYSIS_HOST_QUORUM\); 2 left out for too few requests/);
    assert.deepEqual(decision.hosts.map((h) => h.verdict), ['pass', 'left-out', 'left-out']);
  });

  it('passes when every host with enough requests passes; hosts with too few are left out of the window', () => {
    const decision = analyseCanaryPerHost(input([host('edge-1', seconds(10, 20)), host('edge-2', seconds(10, 30)), host('edge-3', seconds(2, 1))]));
    assert.equal(decision.verdict, 'pass');
    assert.equal(decision.canaryRequests, 502);
    assert.deepEqual(decision.hosts.map((h) => h.verdict), ['pass', 'pass', 'left-out']);
    assert.match(decision.hosts[2].detail, /2 canary requests, 20 needed to be judged/);
  });

  it('holds while any judged host is inconclusive (default quorum: all), and while no host had enough requests', () => {
    const holding = analyseCanaryPerHost(input([host('edge-1', seconds(10, 20)), host('edge-2', seconds(10, 20), seconds(10, 1))]));
    assert.equal(holding.verdict, 'inconclusive');
    assert.equal(holding.hosts[1].verdict, 'inconclusive');
    assert.ok(holding.checks.some((c) => c.detail.startsWith('edge-2: ')), 'the holding host’s checks are shown');
    const quiet = analyseCanaryPerHost(input([host('edge-1', seconds(1, 1))]));
    assert.equal(quiet.verdict, 'inconclusive');
    assert.match(quiet.checks.find((c) => c.metric === 'host-quorum')!.detail, /no host had 20 canary requests/);
  });

  it('a crash or failing probes reported by any host breach for the fleet, and a host whose calls died breaches alone', () => {
    const crashed = analyseCanaryPerHost(input([host('edge-1', seconds(10, 20))], { health: { crashed: 'edge-2: 1.1.0 crashed (SIGSEGV)', unhealthy: null } }));
    assert.deepEqual([crashed.verdict, crashed.metric], ['breach', 'crash']);
    const died = analyseCanaryPerHost(input([host('edge-1', seconds(10, 20)), host('edge-2', seconds(10, 20).map((s, i) => (i === 0 ? { ...s, ok: 19, errors5xx: 1, crashes: 1 } : s)))]));
    assert.deepEqual([died.verdict, died.metric], ['breach', 'crash']);
    assert.match(died.checks[0].detail, /^edge-2: 1 call\(s\) ended in a dead cell$/);
  });
});
