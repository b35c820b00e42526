import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostMetrics, VersionMetrics, type Outcome } from './metrics';
import type { MetricSample } from '../protocol';

const SECOND = new Date('2026-11-22T08:00:00.000Z');
const NUMERIC_FIELDS = ['requests', 'ok', 'app4xx', 'errors5xx', 'timeouts', 'crashes', 'p50', 'p95', 'p99', 'max'] as const;

function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

// Nearest-rank percentile of sorted values, the definition HDR histograms follow.
const nearestRank = (sorted: number[], percent: number) => sorted[Math.ceil((percent / 100) * sorted.length) - 1];

// HDR with 3 significant figures: within 0.1% of the true value (plus the integer step).
function assertWithinHdrPrecision(actual: number, expected: number, label: string) {
  assert.ok(Math.abs(actual - expected) <= expected * 0.001 + 1, `${label}: ${actual} vs ${expected}`);
}

describe('VersionMetrics', () => {
  it('rolls a second into counts by outcome and percentiles of a known set of latencies', () => {
    const metrics = new VersionMetrics('ledger', '1.2.0');
    const latencies = shuffled(Array.from({ length: 10_000 }, (_, i) => 50 + i * 7));
    const outcomes: Outcome[] = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'app', 'fault', 'crashed', 'timeout'];
    latencies.forEach((latency, i) => metrics.record(outcomes[i % outcomes.length], latency));

    const sample = metrics.rollSecond(SECOND);
    const sorted = [...latencies].sort((a, b) => a - b);
    assert.deepEqual(
      { module: sample.module, version: sample.version, second: sample.second, requests: sample.requests, ok: sample.ok, app4xx: sample.app4xx, errors5xx: sample.errors5xx, timeouts: sample.timeouts, crashes: sample.crashes },
      { module: 'ledger', version: '1.2.0', second: '2026-11-22T08:00:00.000Z', requests: 10_000, ok: 6_000, app4xx: 1_000, errors5xx: 2_000, timeouts: 1_000, crashes: 1_000 },
    );
    assertWithinHdrPrecision(sample.p50, nearestRank(sorted, 50), 'p50');
    assertWithinHdrPrecision(sample.p95, nearestRank(sorted, 95), 'p95');
    assertWithinHdrPrecision(sample.p99, nearestRank(sorted, 99), 'p99');
    assertWithinHdrPrecision(sample.max, sorted.at(-1)!, 'max');
  });

  it('yields zeros, not NaN, for a second without requests, and starts each second empty', () => {
    const metrics = new VersionMetrics('ledger', '1.2.0');
    metrics.record('ok', 5_000);
    metrics.rollSecond(SECOND);
    const empty = metrics.rollSecond(new Date(SECOND.getTime() + 1000));
    for (const field of NUMERIC_FIELDS) assert.equal(empty[field], 0, field);
    metrics.record('ok', 10);
    const next = metrics.rollSecond(new Date(SECOND.getTime() + 2000));
    assert.deepEqual([next.requests, next.max, next.p50], [1, 10, 10]);
  });

  it('keeps cumulative totals across seconds for Prometheus', () => {
    const metrics = new VersionMetrics('ledger', '1.2.0');
    metrics.record('ok', 100);
    metrics.record('fault', 300.5);
    metrics.rollSecond(SECOND);
    metrics.record('ok', 200);
    assert.deepEqual({ ...metrics.totals }, { requests: 3, latencySumUs: 601, ok: 2, app: 0, fault: 1, crashed: 0, timeout: 0, hangs: 0 });
  });

  it('counts latencies the histogram cannot hold instead of losing them', () => {
    const metrics = new VersionMetrics('ledger', '1.2.0');
    for (const latency of [0.2, 0, Number.NaN, 7.6, 1e12]) metrics.record('ok', latency);
    const sample = metrics.rollSecond(SECOND);
    assert.equal(sample.requests, 5);
    assert.equal(sample.p50, 1);
    assert.ok(Number.isFinite(metrics.totals.latencySumUs));
    assertWithinHdrPrecision(sample.max, 3_600_000_000, 'capped max');
  });
});

describe('HostMetrics', () => {
  const secondsOf = (samples: MetricSample[]) => samples.map((s) => Date.parse(s.second));

  it('labels consecutive windows with consecutive whole seconds, keeping only seconds with requests', () => {
    const metrics = new HostMetrics();
    const ledger = metrics.forVersion('ledger', '1.0.0');
    assert.equal(metrics.forVersion('ledger', '1.0.0'), ledger);
    metrics.forVersion('ledger', '1.1.0');
    ledger.record('ok', 100);
    metrics.closeSecond(Date.now() + 1000);
    metrics.closeSecond(Date.now() + 2000);
    ledger.record('ok', 100);
    metrics.closeSecond(Date.now() + 3000);
    const [first, second] = secondsOf(metrics.drainSamples());
    assert.equal(first % 1000, 0);
    assert.equal(second - first, 2000);
    assert.deepEqual(metrics.drainSamples(), []);
  });

  it('never labels two windows alike when the timer fires early', () => {
    const metrics = new HostMetrics();
    const ledger = metrics.forVersion('ledger', '1.0.0');
    const now = Date.now();
    ledger.record('ok', 1);
    metrics.closeSecond(now);
    ledger.record('ok', 1);
    metrics.closeSecond(now);
    const [first, second] = secondsOf(metrics.drainSamples());
    assert.equal(second - first, 1000);
  });

  it('drains only what is new, and at most the capacity when a drain falls behind', () => {
    const metrics = new HostMetrics({ capacity: 3 });
    const ledger = metrics.forVersion('ledger', '1.0.0');
    for (let i = 1; i <= 5; i++) {
      for (let r = 0; r < i; r++) ledger.record('ok', 10);
      metrics.closeSecond(Date.now() + i * 1000);
    }
    assert.deepEqual(metrics.drainSamples().map((s) => s.requests), [3, 4, 5]);
    ledger.record('ok', 10);
    metrics.closeSecond(Date.now() + 6000);
    assert.deepEqual(metrics.drainSamples().map((s) => s.requests), [1]);
    assert.deepEqual(metrics.recent().map((s) => s.requests), [4, 5, 1]);
  });

  it('answers recent() by module and by the last N closed seconds', () => {
    const metrics = new HostMetrics();
    const ledger = metrics.forVersion('ledger', '1.0.0');
    const gateway = metrics.forVersion('gateway', '3.0.0');
    for (let i = 1; i <= 4; i++) {
      ledger.record('ok', 10);
      gateway.record('ok', 10);
      metrics.closeSecond(Date.now() + i * 1000);
    }
    assert.equal(metrics.recent().length, 8);
    assert.equal(metrics.recent('ledger').length, 4);
    assert.ok(metrics.recent('ledger').every((s) => s.module === 'ledger'));
    assert.equal(metrics.recent('ledger', 2).length, 2);
    assert.equal(metrics.recent(undefined, 1).length, 2);
    assert.deepEqual(metrics.recent('nothing'), []);
  });

  it('turns a dropped version’s unfinished second into a sample, and starts afresh if it returns', () => {
    const metrics = new HostMetrics();
    metrics.forVersion('ledger', '1.0.0').record('timeout', 1_000_000);
    metrics.drop('ledger', '1.0.0');
    metrics.drop('ledger', 'never-loaded');
    assert.deepEqual(metrics.drainSamples().map((s) => [s.version, s.requests, s.timeouts]), [['1.0.0', 1, 1]]);
    assert.equal(metrics.forVersion('ledger', '1.0.0').totals.requests, 0);
    assert.doesNotMatch(new HostMetrics().prometheus(), /module="ledger"/);
  });

  it('ticks by itself once started, on a whole second, without keeping the process alive', async () => {
    const metrics = new HostMetrics();
    metrics.start();
    metrics.forVersion('ledger', '1.0.0').record('ok', 10);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    metrics.stop();
    const samples = metrics.drainSamples();
    assert.equal(samples.length, 1);
    assert.equal(Date.parse(samples[0].second) % 1000, 0);
  });

  it('labels each second with its own start when the timer fires a little early', (t) => {
    const start = Date.parse('2026-11-22T08:00:00.000Z');
    let now = start;
    t.mock.method(Date, 'now', () => now);
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const metrics = new HostMetrics();
    metrics.start();
    const ledger = metrics.forVersion('ledger', '1.0.0');
    ledger.record('ok', 1);
    now = start + 998;
    t.mock.timers.tick(1_000);
    now = start + 1_000;
    t.mock.timers.tick(2);
    ledger.record('ok', 1);
    ledger.record('ok', 1);
    now = start + 2_000;
    t.mock.timers.tick(1_000);
    metrics.stop();
    assert.deepEqual(metrics.drainSamples().map((s) => [Date.parse(s.second) - start, s.requests]), [[0, 1], [1_000, 2]]);
  });
});

describe('HostMetrics.prometheus()', () => {
  // One exposition line: a HELP, a TYPE or a sample with optional labels.
  const HELP = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/;
  const TYPE = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram|untyped)$/;
  const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (NaN|[+-]Inf|-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/;
  const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)/;

  interface ParsedSample {
    family: string;
    name: string;
    labels: Record<string, string>;
    value: number;
  }

  function parseLabels(text: string): Record<string, string> {
    const labels: Record<string, string> = {};
    let rest = text;
    while (rest.length > 0) {
      const match = LABEL.exec(rest);
      assert.ok(match, `bad label syntax at: ${rest}`);
      labels[match[1]] = match[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(match[0].length);
    }
    return labels;
  }

  // Checks the grammar line by line and that every family is HELP, TYPE, then its own samples, once.
  function parseExposition(text: string): ParsedSample[] {
    assert.ok(text.endsWith('\n'), 'ends with a newline');
    const lines = text.slice(0, -1).split('\n');
    const declared = new Set<string>();
    const samples: ParsedSample[] = [];
    let family = '';
    let type = '';
    for (let i = 0; i < lines.length; i++) {
      const help = HELP.exec(lines[i]);
      if (help) {
        const typeLine = TYPE.exec(lines[i + 1] ?? '');
        assert.ok(typeLine && typeLine[1] === help[1], `# TYPE ${help[1]} follows its # HELP`);
        assert.ok(!declared.has(help[1]), `${help[1]} declared once`);
        declared.add((family = help[1]));
        type = typeLine[2];
        i++;
        continue;
      }
      const sample = SAMPLE.exec(lines[i]);
      assert.ok(sample, `line ${i + 1} is a sample: ${JSON.stringify(lines[i])}`);
      const suffixes = type === 'summary' ? ['', '_sum', '_count'] : [''];
      assert.ok(family && suffixes.some((suffix) => sample[1] === family + suffix), `${sample[1]} belongs to ${family}`);
      samples.push({ family, name: sample[1], labels: parseLabels(sample[2] ?? ''), value: Number(sample[3]) });
    }
    return samples;
  }

  const WEIRD_MODULE = 'we"ird\\mod\nule';

  function exercisedMetrics() {
    const metrics = new HostMetrics({
      inflight: () => [
        { module: 'ledger', version: '1.0.0', inFlight: 2 },
        { module: 'ledger', version: '1.0.0', inFlight: 3 },
        { module: WEIRD_MODULE, version: '0.1.0', inFlight: 0 },
      ],
    });
    const ledger = metrics.forVersion('ledger', '1.0.0');
    for (let i = 1; i <= 100; i++) ledger.record(i % 10 === 0 ? 'fault' : 'ok', i * 10);
    metrics.forVersion(WEIRD_MODULE, '0.1.0').record('crashed', 250);
    return { metrics, ledger };
  }

  const find = (samples: ParsedSample[], name: string, labels: Record<string, string>) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

  it('parses line by line: HELP and TYPE before each family’s samples, every label escaped', () => {
    const { metrics } = exercisedMetrics();
    metrics.closeSecond(Date.now() + 1000);
    const samples = parseExposition(metrics.prometheus());
    assert.deepEqual(find(samples, 'hotplane_requests_total', { module: WEIRD_MODULE, outcome: 'crashed' }).map((s) => s.value), [1]);
    const families = new Set(samples.map((s) => s.family));
    for (const name of ['hotplane_requests_total', 'hotplane_request_latency_microseconds', 'hotplane_inflight', 'process_resident_memory_bytes']) {
      assert.ok(families.has(name), name);
    }
  });

  it('reports cumulative counters, last-second quantiles, and in-flight calls summed per version', () => {
    const { metrics, ledger } = exercisedMetrics();
    metrics.closeSecond(Date.now() + 1000);
    ledger.record('ok', 5);
    const samples = parseExposition(metrics.prometheus());
    const ledgerLabels = { module: 'ledger', version: '1.0.0' };
    assert.deepEqual(find(samples, 'hotplane_requests_total', { ...ledgerLabels, outcome: 'ok' }).map((s) => s.value), [91]);
    assert.deepEqual(find(samples, 'hotplane_requests_total', { ...ledgerLabels, outcome: 'fault' }).map((s) => s.value), [10]);
    assert.deepEqual(find(samples, 'hotplane_request_latency_microseconds_count', ledgerLabels).map((s) => s.value), [101]);
    assert.deepEqual(find(samples, 'hotplane_request_latency_microseconds_sum', ledgerLabels).map((s) => s.value), [50_505]);
    const quantile = (q: string) => find(samples, 'hotplane_request_latency_microseconds', { ...ledgerLabels, quantile: q })[0].value;
    assert.deepEqual([quantile('0.5'), quantile('0.95'), quantile('0.99')], [500, 950, 990]);
    assert.deepEqual(find(samples, 'hotplane_inflight', ledgerLabels).map((s) => s.value), [5]);
  });

  it('shows NaN quantiles for a version whose last second had no requests', () => {
    const { metrics } = exercisedMetrics();
    metrics.closeSecond(Date.now() + 1000);
    metrics.closeSecond(Date.now() + 2000);
    const samples = parseExposition(metrics.prometheus());
    const quantiles = find(samples, 'hotplane_request_latency_microseconds', { module: 'ledger', version: '1.0.0' });
    assert.equal(quantiles.length, 3);
    assert.ok(quantiles.every((s) => Number.isNaN(s.value)));
  });

  it('leaves out hotplane_inflight when no in-flight source is wired, and still parses with no versions', () => {
    const samples = parseExposition(new HostMetrics().prometheus());
    assert.ok(!samples.some((s) => s.family === 'hotplane_inflight'));
  });

  it('adds event loop delay and utilization once started', async () => {
    const metrics = new HostMetrics();
    metrics.start();
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    metrics.stop();
    const samples = parseExposition(metrics.prometheus());
    const utilization = find(samples, 'nodejs_eventloop_utilization_ratio', {})[0]?.value;
    assert.ok(utilization !== undefined && utilization >= 0 && utilization <= 1, String(utilization));
    assert.equal(find(samples, 'nodejs_eventloop_lag_p99_seconds', {}).length, 1);
  });
});
