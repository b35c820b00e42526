// Runs alone (scripts/test.mjs): it judges a real rollout under live traffic, whose latency other test files'
// CPU use would skew.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readDesiredModule, readDesiredState } from '../fleet/desired-state';
import { EMBEDDED_HOST_ID, registerHost } from '../fleet/hosts';
import { FleetMetrics } from '../fleet/metrics-store';
import { ingestHostReport } from '../fleet/report-intake';
import { setHostZone } from '../fleet/zones';
import type { MetricSample, VersionStatus } from '../protocol';
import { startInProcessHost, type InProcessHost } from '../testing/in-process-host';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { waitFor } from '../testing/wait-for';
import { approveChange } from './approvals';
import { editChange, proposeChange } from './change-request';
import type { RolloutOutcome, RolloutPlan } from './change-request.types';
import { changeDigestText } from './digest';
import { RolloutEngine } from './engine';
import { startRollout } from './operate';
import type { ZoneVerdict } from './zone-analysis';

// Rollouts in waves over three zones: the real host (real cells running the example ledger builds, 300 requests a
// second) is zone-a's; b-1 (zone-b) and c-1 (zone-c) are scripted hosts that pull their zone's desired state, report
// running exactly that, and send 200 requests a second through the console's intake, a chosen share of the canary's
// failing. Every state a scripted host was sent is kept, so what zone-b ran during wave 1 can be checked afterwards.

const PATIENT = { timeoutMs: 90_000 };
const SCRIPTED_PER_SECOND = 200;

const plan = (waves: string[][]): RolloutPlan => ({
  steps: [
    { weight: 50, holdSeconds: 1 },
    { weight: 100, holdSeconds: 1 },
  ],
  // The host runs in this test's own event loop, beside the engine and SQLite: on a loaded CI machine a stall of
  // hundreds of ms lands on whichever version was called (a 5 % canary's p95 rests on a few calls), so the latency
  // rule only catches what no stall explains. These tests are about the engine's flow; the latency rule itself is
  // tested on fixed figures in analysis.test.ts.
  analysis: { intervalSeconds: 0.25, windowSeconds: 3, minRequests: 20, maxErrorPercent: 1, maxErrorRatio: 2, maxP95Ratio: 1.2, p95NoiseMs: 1000, maxP95Ms: 5000 },
  stepDeadlineSeconds: 30,
  rollbackWindowSeconds: 60,
  isolation: 'process',
  waves,
});

interface Seen {
  host: string;
  generation: number;
  weights: Record<string, number>;
}

describe('rollouts in waves over zones', () => {
  let r: RolloutFixture;
  let h: InProcessHost;
  let engine: RolloutEngine;
  let scripting: NodeJS.Timeout | undefined;
  const metrics = new FleetMetrics();
  const scripted = [
    { id: 'b-1', zone: 'zone-b', canaryErrorPercent: 0, lastSecond: 0 },
    { id: 'c-1', zone: 'zone-c', canaryErrorPercent: 0, lastSecond: 0 },
  ];
  let canary = '';
  const seen: Seen[] = [];

  async function reportOnce(host: (typeof scripted)[number]) {
    const state = await r.f.db.$transaction((tx) => readDesiredState(tx, host.zone));
    const ledger = state.modules.find((m) => m.module === 'ledger')!;
    seen.push({ host: host.id, generation: state.generation, weights: Object.fromEntries(ledger.versions.map((v) => [v.version, v.weight])) });
    const second = Math.floor(Date.now() / 1000) - 1;
    const versions: VersionStatus[] = ledger.versions.map((v) => ({
      module: 'ledger', version: v.version, sm3: v.sm3, isolation: v.isolation, phase: 'serving', weight: v.weight, healthy: true,
      load: {}, inFlight: 0, goRuntime: false, since: new Date().toISOString(),
    }));
    const samples: MetricSample[] =
      second > host.lastSecond
        ? ledger.versions.filter((v) => v.weight > 0).map((v) => {
            const requests = Math.floor((SCRIPTED_PER_SECOND * v.weight) / 100);
            const errors = v.version === canary ? Math.floor((requests * host.canaryErrorPercent) / 100) : 0;
            return { module: 'ledger', version: v.version, second: new Date(second * 1000).toISOString(), requests, ok: requests - errors, app4xx: 0, errors5xx: errors, timeouts: 0, crashes: 0, p50: 300, p95: 500, p99: 700, max: 900 };
          })
        : [];
    host.lastSecond = Math.max(host.lastSecond, second);
    await ingestHostReport(r.f.db, metrics, { id: host.id, name: host.id }, { hostId: host.id, appliedGeneration: state.generation, startedAt: new Date().toISOString(), versions, metrics: samples, events: [] });
  }

  const row = (id: string) => r.f.db.changeRequest.findUniqueOrThrow({ where: { id } });
  const ended = (id: string) => waitFor(`${id} to end`, async () => ((await row(id)).finishedAt ? row(id) : null), PATIENT);
  const hostWeights = () => Object.fromEntries(h.host.versionStatuses().filter((v) => v.phase === 'serving').map((v) => [v.version, v.weight]));

  async function run(toVersion: string, waves: string[][]) {
    canary = toVersion;
    const proposed = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion, plan: plan(waves), reason: `roll out ${toVersion} in waves` });
    await r.approve(proposed.id, proposed.digest);
    const started = await startRollout({ db: r.f.db, settings: r.settings, metrics }, r.operator.actor, proposed.id);
    assert.equal(started.started, true, JSON.stringify(started));
    return ended(proposed.id);
  }

  before(async () => {
    r = await createRolloutFixture();
    h = await startInProcessHost(r.f.db, metrics);
    await setHostZone(r.f.db, r.f.actor, { hostId: EMBEDDED_HOST_ID, zone: 'zone-a' });
    for (const host of scripted) await registerHost(r.f.db, r.f.actor, { name: host.id, zone: host.zone, group: 'edge' });
    await waitFor('the host to serve ledger 1.0.0', async () => hostWeights()['1.0.0'] === 100, PATIENT);
    h.setTraffic(300);
    let busy = false;
    scripting = setInterval(() => {
      if (busy) return;
      busy = true;
      Promise.all(scripted.map(reportOnce))
        .catch(() => undefined)
        .finally(() => (busy = false));
    }, 200);
    engine = new RolloutEngine({ db: r.f.db, metrics, settings: r.settings, log: () => undefined }).start();
  });

  after(async () => {
    clearInterval(scripting);
    await engine?.stop();
    await h?.stop();
  });

  it('refuses a plan naming a zone no host is in, or a zone twice, and says which and what the zones are', async () => {
    await assert.rejects(
      proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', plan: plan([['zone-a'], ['zone-x']]), reason: 'a typo in the waves' }),
      /the waves name "zone-x", which no host is in; known zones: zone-a, zone-b, zone-c/,
    );
    await assert.rejects(
      proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', plan: plan([['zone-a'], ['zone-b', 'zone-a']]), reason: 'a zone twice' }),
      /is in more than one wave; name each zone once/,
    );
  });

  it('attack: an approval signed for the single-wave plan does not approve the same change with waves added', async () => {
    const single = { ...plan([]) };
    delete single.waves;
    const proposed = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', plan: single, reason: 'one wave, then edited' });
    assert.doesNotMatch(changeDigestText({ ...proposed, plan: single }), /waves/, 'a plan without waves signs the document it always did');
    const signedForSingle = r.sign(proposed.digest, r.approver);
    const edited = await editChange(r.f.db, r.operator.actor, { id: proposed.id, revision: proposed.revision, plan: plan([['zone-b'], ['zone-a', 'zone-c']]) });
    assert.notEqual(edited.digest, proposed.digest);
    assert.match(changeDigestText({ ...edited, plan: plan([['zone-b'], ['zone-a', 'zone-c']]) }), /"waves":\[\["zone-b"\],\["zone-a","zone-c"\]\]/);
    const approve = (digest: string) => approveChange(r.f.db, r.approver.actor, { id: proposed.id, digest, signature: signedForSingle }, { ttlMs: r.settings.approvalTtlMs });
    await assert.rejects(approve(proposed.digest), /digest/i, 'the old digest names a revision that is gone');
    await assert.rejects(approve(edited.digest), /signature/i, 'the old signature does not cover the waves');
    assert.equal(await r.f.db.approval.count({ where: { changeRequestId: proposed.id, decision: 'approved', voidedAt: null } }), 0);
    assert.equal((await row(proposed.id)).state, 'PendingApproval');
    await r.f.db.changeRequest.update({ where: { id: proposed.id }, data: { state: 'Cancelled' } });
  });

  it('a breach in wave 2’s zone rolls back wave 1’s zone too: every zone back on the stable, no zone state left', async () => {
    scripted[0].canaryErrorPercent = 30;
    try {
      const done = await run('1.1.0', [['zone-a'], ['zone-b']]);
      assert.equal(done.state, 'RolledBack');
      const outcome = JSON.parse(done.outcome!) as RolloutOutcome;
      assert.deepEqual([outcome.trigger, outcome.metric], ['breach', 'error-rate']);
      assert.match(outcome.message, /b-1/);
      const breach = await r.f.db.rolloutDecision.findFirstOrThrow({ where: { changeRequestId: done.id, verdict: 'breach' } });
      assert.equal(breach.waveIndex, 1, 'the breach came in wave 2');
      const zones = JSON.parse(breach.zoneVerdicts!) as ZoneVerdict[];
      // zone-a (wave 1, the canary at 100 %) did not breach: it passed, or had too few requests in that window to judge.
      assert.deepEqual(zones.map((z) => [z.zone, z.verdict === 'breach' ? 'breach' : 'no breach', z.currentWave]), [['zone-a', 'no breach', false], ['zone-b', 'breach', true]]);
      assert.equal(await r.f.db.desiredZoneModule.count(), 0, 'no zone keeps its own state');
      const fleet = await r.f.db.$transaction((tx) => readDesiredModule(tx, 'ledger'));
      assert.deepEqual(fleet?.versions.map((v) => [v.version, v.weight]), [['1.0.0', 100]]);
      const zoneAChanges = await r.f.db.auditEvent.findMany({ where: { action: 'runtime.desired_changed', details: { contains: '"zone":"zone-a"' } }, orderBy: { seq: 'asc' } });
      const last = JSON.parse(zoneAChanges.at(-1)!.details) as { after: { versions: { version: string; weight: number }[] } };
      assert.deepEqual(last.after.versions.map((v) => [v.version, v.weight]), [['1.0.0', 100]], 'zone-a, which had passed, is written back to the stable');
      await waitFor('zone-a’s real host to serve only 1.0.0 again', async () => JSON.stringify(hostWeights()) === JSON.stringify({ '1.0.0': 100 }), PATIENT);
    } finally {
      scripted[0].canaryErrorPercent = 0;
    }
  });

  it('runs every step in zone-a first, zone-b and zone-c staying on the stable, then wave 2 after wave 1 passed, then promotes', async () => {
    seen.length = 0;
    const done = await run('1.1.0', [['zone-a'], ['zone-b', 'zone-c']]);
    assert.equal(done.state, 'Promoted', done.outcome ?? '');
    const phases = await r.f.db.rolloutPhase.findMany({ where: { changeRequestId: done.id, kind: 'step' }, orderBy: { id: 'asc' } });
    assert.deepEqual(phases.map((p) => `${p.waveIndex}:${p.weight}`), ['0:50', '0:100', '1:50', '1:100']);
    const wave2From = phases[2].generation!;
    const duringWave1 = seen.filter((s) => s.generation >= phases[0].generation! && s.generation < wave2From);
    assert.ok(duringWave1.length > 0 && duringWave1.some((s) => s.host === 'b-1'), 'zone-b was polling during wave 1');
    for (const s of duringWave1) assert.deepEqual(s.weights, { '1.0.0': 100 }, `${s.host} got no canary weight during wave 1 (generation ${s.generation})`);
    const decisions = await r.f.db.rolloutDecision.findMany({ where: { changeRequestId: done.id }, orderBy: { id: 'asc' } });
    const wave1 = decisions.filter((d) => d.waveIndex === 0);
    assert.ok(wave1.some((d) => d.stepIndex === 1 && d.verdict === 'pass'), 'wave 1’s last step passed');
    for (const d of wave1) assert.deepEqual((JSON.parse(d.zoneVerdicts!) as ZoneVerdict[]).map((z) => z.zone), ['zone-a'], 'wave 1 judged zone-a alone');
    const events = await r.f.db.auditEvent.findMany({ where: { targetId: done.id }, orderBy: { seq: 'asc' } });
    const order = events.map((e) => `${e.action}:${(JSON.parse(e.details) as { wave?: number; step?: number }).wave ?? ''}.${(JSON.parse(e.details) as { step?: number }).step ?? ''}`);
    const passedWave1 = order.indexOf('rollout.wave_passed:1.');
    assert.ok(passedWave1 > order.indexOf('rollout.step_passed:1.2'), 'wave 1 passed after its last step passed');
    assert.equal(order.indexOf('rollout.step_started:2.1'), passedWave1 + 1, 'wave 2 began right after wave 1 passed');
    const lastWave2 = decisions.filter((d) => d.waveIndex === 1).at(-1)!;
    // Wave 2's zones passed; zone-a (wave 1, judged for breaches only) did not breach, or had too few requests to judge.
    assert.deepEqual((JSON.parse(lastWave2.zoneVerdicts!) as ZoneVerdict[]).map((z) => [z.zone, z.currentWave ? z.verdict : z.verdict === 'breach' ? 'breach' : 'no breach']), [['zone-a', 'no breach'], ['zone-b', 'pass'], ['zone-c', 'pass']]);
    assert.equal(await r.f.db.desiredZoneModule.count(), 0, 'promotion leaves no zone state');
    await waitFor('zone-b to be sent 1.1.0 at 100 %', async () => seen.some((s) => s.host === 'b-1' && s.weights['1.1.0'] === 100 && s.generation >= phases[3].generation!), PATIENT);
  });
});
