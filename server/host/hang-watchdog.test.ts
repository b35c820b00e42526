// Runs alone (scripts/test.mjs): it times stuck calls against learned latencies, which other test files' CPU use
// would skew.
// The hang watchdog against a real module in real process cells (hang-fixtures/napper.c): a stuck call moves new
// calls to the healthy version and its version comes back when the call returns; a call that never returns is still
// killed at the request timeout; a slow version is never declared hung; a version without history.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileFetcher } from './artifact-cache';
import { compileNappers, type Nappers } from './hang-fixtures/compile';
import { DEFAULT_HANG_SETTINGS, HangWatchdog, type HangJudgement, type HangWatchdogHooks } from './hang-watchdog';
import { Host } from './host';
import { exampleArtifacts } from './testing';
import { waitFor } from '../testing/wait-for';
import type { DesiredVersion, InvokeResult } from './index';
import { hostReportSchema } from '../protocol/report-schema';

const text = (s: string) => Buffer.from(s);
const SOON = { timeoutMs: 10_000, everyMs: 10 };
let nappers: Nappers;
let dataDirOf: () => string;
let generation = 0;

before(async () => {
  nappers = await compileNappers(['1.0.0', '2.0.0']);
  dataDirOf = (await exampleArtifacts()).tempDir;
});
after(() => nappers.remove());

async function hostWith(requestTimeoutMs: number, ...versions: DesiredVersion[]): Promise<Host> {
  const host = new Host({ dataDir: dataDirOf(), fetchArtifact: fileFetcher(nappers.artifactPath) }).start();
  await host.applyDesiredState({ generation: ++generation, modules: [{ module: 'napper', requestTimeoutMs, versions }] });
  for (const v of versions) assert.equal(status(host, v.version)?.phase, 'serving', status(host, v.version)?.reason);
  return host;
}

const status = (host: Host, version: string) => host.versionStatuses().find((s) => s.version === version && s.phase !== 'disposed');
const call = (host: Host, request: string, pinVersion?: string) => host.invoke('napper', text(request), { pinVersion });
const hungEvents = (host: Host, version: string) => host.recentEvents().filter((e) => e.kind === 'hung' && e.version === version);
const hangsCounted = (host: Host, version: string) => Number(host.metrics.prometheus().match(new RegExp(`hotplane_hangs_total\\{module="napper",version="${version.replace(/\./g, '\\.')}"\\} (\\d+)`))?.[1] ?? 'NaN');

async function versionsOf(answers: Promise<InvokeResult>[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const r of await Promise.all(answers)) {
    assert.equal(r.status, 200, r.reason);
    counts.set(r.version!, (counts.get(r.version!) ?? 0) + 1);
  }
  return counts;
}

function watchdogWith(prior: number | null, settings = DEFAULT_HANG_SETTINGS) {
  const seen = { hung: [] as HangJudgement[], released: [] as number[] };
  const hooks: HangWatchdogHooks = {
    priorP999Ms: () => prior,
    requestTimeoutMs: () => 1_000,
    hung: (judgement) => seen.hung.push(judgement),
    released: (ranMs) => seen.released.push(ranMs),
  };
  const watchdog = new HangWatchdog(hooks, settings);
  return { watchdog, seen };
}

describe('HangWatchdog', () => {
  it('learns only from answered requests: probes and failed calls teach it nothing', (t) => {
    const { watchdog } = watchdogWith(null);
    t.after(() => watchdog.stop());
    for (let i = 0; i < DEFAULT_HANG_SETTINGS.minHistory; i++) watchdog.ended(watchdog.started(true), false);
    for (let i = 0; i < DEFAULT_HANG_SETTINGS.minHistory; i++) watchdog.ended(watchdog.started(), false);
    assert.equal(watchdog.p999Ms(), null);
    for (let i = 0; i < DEFAULT_HANG_SETTINGS.minHistory - 1; i++) watchdog.ended(watchdog.started(), true);
    assert.equal(watchdog.p999Ms(), null);
    watchdog.ended(watchdog.started(), true);
    assert.ok(watchdog.p999Ms()! >= 0);
    assert.match(watchdog.threshold().basis, /^5 × p99\.9/);
    assert.equal(watchdog.threshold().thresholdMs, DEFAULT_HANG_SETTINGS.floorMs);
  });

  it('without history of its own borrows the other versions\' p99.9, and with none anywhere half the request timeout', () => {
    assert.deepEqual(watchdogWith(100).watchdog.threshold(), { thresholdMs: 500, basis: "no history yet: 5 × the other versions' p99.9 100.00 ms" });
    assert.equal(watchdogWith(1).watchdog.threshold().thresholdMs, DEFAULT_HANG_SETTINGS.floorMs);
    assert.deepEqual(watchdogWith(null).watchdog.threshold(), { thresholdMs: 500, basis: 'no history on this module yet: half the request timeout' });
  });

  it('declares the call in front stuck once, releases it when it ends, and does not learn from it', async (t) => {
    const { watchdog, seen } = watchdogWith(0.01, { ...DEFAULT_HANG_SETTINGS, floorMs: 1, checkEveryMs: 2, minHistory: 2 });
    t.after(() => watchdog.stop());
    const stuck = watchdog.started();
    const behind = watchdog.started();
    await waitFor('the call declared stuck', () => watchdog.isHung, SOON);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(seen.hung.length, 1);
    watchdog.ended(stuck, true);
    assert.equal(watchdog.isHung, false);
    assert.equal(seen.released.length, 1);
    watchdog.ended(behind, true);
    assert.equal(watchdog.p999Ms(), null, 'it learned the call behind, not the stuck one (two would be history)');
    watchdog.ended(watchdog.started(), true);
    assert.notEqual(watchdog.p999Ms(), null);
  });
});

describe('hang watchdog (process cells, real module)', () => {
  it('moves new calls off a version whose call is stuck, and takes it back when the call returns', async (t) => {
    const host = await hostWith(20_000, nappers.version('1.0.0', { weight: 50 }), nappers.version('2.0.0', { weight: 50 }));
    t.after(() => host.stop());
    // 1.0.0 has a history; 2.0.0's first call hangs, so it is judged by 1.0.0's normal latency (no history of its own).
    for (let i = 0; i < 100; i++) assert.equal((await call(host, 'fast', '1.0.0')).status, 200);
    const stuck = call(host, 'sleep 4000', '2.0.0');
    await waitFor('2.0.0 declared hung', () => status(host, '2.0.0')?.reason?.startsWith('hung:'), SOON);
    assert.equal(status(host, '2.0.0')?.healthy, false);
    assert.equal(status(host, '2.0.0')?.phase, 'serving');
    assert.equal(hungEvents(host, '2.0.0').length, 1);
    assert.match(hungEvents(host, '2.0.0')[0].message, /other versions' p99\.9/);
    assert.equal(hangsCounted(host, '2.0.0'), 1);
    // Reported at once, in a report the console accepts, with the canary unhealthy for the rollout analysis to see.
    assert.equal(host.reportDue(Date.now(), 60_000), true);
    const report = hostReportSchema.parse(host.report());
    assert.ok(report.events.some((e) => e.kind === 'hung' && e.version === '2.0.0'));
    assert.equal(report.versions.find((v) => v.version === '2.0.0')?.healthy, false);
    const during = await versionsOf(Array.from({ length: 40 }, () => call(host, 'fast')));
    assert.deepEqual([...during.keys()], ['1.0.0']);

    // The stuck call is slow, not dead: it is answered, the cell lives on, and 2.0.0 takes its share again.
    const late = await stuck;
    assert.equal(late.status, 200, late.reason);
    assert.equal(late.version, '2.0.0');
    await waitFor('2.0.0 eligible again', () => status(host, '2.0.0')?.healthy, SOON);
    // One after another: the cell's queue estimate still remembers the 4 s call (process-cell.ts) and would refuse a burst.
    const afterwards = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const r = await call(host, 'fast');
      assert.equal(r.status, 200, r.reason);
      afterwards.set(r.version!, (afterwards.get(r.version!) ?? 0) + 1);
    }
    assert.equal(afterwards.get('2.0.0'), 20);
    assert.ok(host.recentEvents().some((e) => e.kind === 'healthy' && e.version === '2.0.0' && /stuck call answered/.test(e.message)));
    assert.ok(!host.recentEvents().some((e) => e.kind === 'crashed'));
  });

  it('still kills a call that never returns at the request timeout, and fails the calls queued behind it over once', async (t) => {
    const host = await hostWith(1_500, nappers.version('1.0.0', { weight: 50 }), nappers.version('2.0.0', { weight: 50 }));
    t.after(() => host.stop());
    for (let i = 0; i < 50; i++) await call(host, 'fast');
    const hung = call(host, 'hang', '2.0.0');
    // Sent before the hang is noticed: half of them queue in 2.0.0's cell behind the stuck call.
    const queued = Array.from({ length: 10 }, () => call(host, 'fast'));
    await waitFor('2.0.0 declared hung', () => hungEvents(host, '2.0.0').length > 0, SOON);
    const answer = await hung;
    assert.equal(answer.status, 504);
    const counts = await versionsOf(queued);
    assert.equal(counts.get('1.0.0'), 10);
    assert.ok(host.recentEvents().some((e) => e.kind === 'crashed' && e.version === '2.0.0' && /timed out|did not answer/.test(e.message)));
  });

  it('never declares a uniformly slow version hung, however deep its queue, nor one slow call under the floor', async (t) => {
    const host = await hostWith(5_000, nappers.version('1.0.0', { weight: 50 }), nappers.version('2.0.0', { weight: 50, config: 'delay 50' }));
    t.after(() => host.stop());
    for (let i = 0; i < 50; i++) await call(host, 'fast', '1.0.0');
    // Eight at a time: the last one waits ~400 ms behind the others, but no call runs longer than ~50 ms.
    for (let round = 0; round < 5; round++) {
      const counts = await versionsOf(Array.from({ length: 8 }, () => call(host, 'fast', '2.0.0')));
      assert.equal(counts.get('2.0.0'), 8);
    }
    // One slow call in a fast version, under the 200 ms floor, is not a hang either.
    assert.equal((await call(host, 'sleep 100', '1.0.0')).status, 200);
    for (const version of ['1.0.0', '2.0.0']) {
      assert.equal(hungEvents(host, version).length, 0, JSON.stringify(hungEvents(host, version)));
      assert.equal(hangsCounted(host, version), 0);
      assert.equal(status(host, version)?.healthy, true);
    }
  });

  it('without any history waits for half the request timeout, and a lone hung version keeps its calls', async (t) => {
    const host = await hostWith(3_000, nappers.version('1.0.0'));
    t.after(() => host.stop());
    // 400 ms with no history anywhere: not long enough to call it stuck (half of 3 s is the bar).
    assert.equal((await call(host, 'sleep 400')).status, 200);
    assert.equal(hungEvents(host, '1.0.0').length, 0);
    const stuck = call(host, 'sleep 2500');
    await waitFor('1.0.0 declared hung', () => hungEvents(host, '1.0.0').length > 0, SOON);
    assert.match(hungEvents(host, '1.0.0')[0].message, /no history on this module yet/);
    // Nowhere else to go: the call queues behind the stuck one rather than being refused.
    const behind = await call(host, 'fast');
    assert.equal(behind.status, 200, behind.reason);
    assert.equal((await stuck).status, 200);
  });
});
