// Runs alone (scripts/test.mjs): it judges a real rollout under live traffic, whose latency other test files'
// CPU use would skew.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixtureDatabaseUrl } from '../testing/test-database';
import { createDb, type Db } from '../db/client';
import { FleetMetrics } from '../fleet/metrics-store';
import { readDesiredModule } from '../fleet/desired-state';
import { proposeChange } from '../rollout/change-request';
import { RolloutEngine } from '../rollout/engine';
import { startRollout } from '../rollout/operate';
import { startInProcessHost, type InProcessHost } from '../testing/in-process-host';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { waitFor } from '../testing/wait-for';
import { LeaderLease } from './lease';

// Two console replicas (two Db clients on one database, each with its own lease and engine) and a real host with
// traffic. The leader is killed mid-step the way a paused process is: its lease is no longer renewed while its
// engine keeps ticking, so every write it still tries after the takeover must be refused by the fence.

const PATIENT = { timeoutMs: 90_000 };

describe('rollout engine across two replicas', () => {
  let r: RolloutFixture;
  let h: InProcessHost;
  let metrics: FleetMetrics;
  const engines: RolloutEngine[] = [];
  const leases: LeaderLease[] = [];
  const freezers: (() => void)[] = [];

  before(async () => {
    r = await createRolloutFixture();
    metrics = new FleetMetrics();
    h = await startInProcessHost(r.f.db, metrics);
    await waitFor('the host to serve ledger 1.0.0', () => h.host.versionStatuses().some((v) => v.version === '1.0.0' && v.phase === 'serving'), PATIENT);
    h.setTraffic(300);
  });

  after(async () => {
    for (const stopBeating of freezers) stopBeating();
    for (const lease of leases) await lease.stop();
    for (const engine of engines) await engine.stop();
    await h?.stop();
  });

  function replica(name: string, db: Db, logs: string[]) {
    let beats: NodeJS.Timeout | undefined;
    const lease: LeaderLease = new LeaderLease({
      db,
      name: 'rollout-engine',
      replica: name,
      onGain: (epoch) => {
        engines.push(new RolloutEngine({ db, metrics, settings: r.settings, log: (line) => logs.push(line), fence: (tx) => lease.fence(tx, epoch) }).start());
      },
    });
    leases.push(lease);
    freezers.push(() => clearInterval(beats));
    return {
      lease,
      beat: () => (beats = setInterval(() => void lease.beat(), lease.renewMs)),
      freeze: () => clearInterval(beats),
    };
  }

  it('the other replica takes over a killed leader within 5 s, every transition is written once, and the stale leader is refused', async () => {
    const dbB = createDb(fixtureDatabaseUrl(r.f.dataDir));
    const logsA: string[] = [];
    const logsB: string[] = [];
    const a = replica('replica-a', r.f.db, logsA);
    await a.lease.beat();
    assert.equal(a.lease.epoch, 1);
    a.beat();
    const b = replica('replica-b', dbB, logsB);
    b.beat();

    const plan = {
      steps: [{ weight: 10, holdSeconds: 2 }, { weight: 50, holdSeconds: 6 }, { weight: 100, holdSeconds: 1 }],
      // This test is about the takeover: latency limits loose enough that a loaded machine does not roll back.
      analysis: { intervalSeconds: 0.25, windowSeconds: 3, minRequests: 20, maxErrorPercent: 1, maxErrorRatio: 2, maxP95Ratio: 20, p95NoiseMs: 500, maxP95Ms: 5000 },
      stepDeadlineSeconds: 60,
      rollbackWindowSeconds: 60,
      isolation: 'process' as const,
    };
    const proposed = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', plan, reason: 'two replicas' });
    await r.approve(proposed.id, proposed.digest);
    assert.equal((await startRollout({ db: r.f.db, settings: r.settings, metrics }, r.operator.actor, proposed.id)).started, true);
    const row = () => r.f.db.changeRequest.findUniqueOrThrow({ where: { id: proposed.id } });
    await waitFor('step 2 to hold', async () => {
      const current = await row();
      return current.stepIndex === 1 && current.stepPhase === 'holding' ? current : null;
    }, PATIENT).catch(async (error: Error) => {
      const current = await row();
      throw new Error(`${error.message}: ${current.state} step ${current.stepIndex + 1} ${current.stepPhase}; replica A said: ${logsA.slice(-3).join(' | ') || 'nothing'}`);
    });

    a.freeze();
    const killedAt = Date.now();
    await waitFor('replica B to lead', () => b.lease.epoch === 2, { timeoutMs: 10_000, everyMs: 20 });
    const takeoverMs = Date.now() - killedAt;
    assert.ok(takeoverMs <= 5_000, `takeover took ${takeoverMs} ms`);
    console.log(`# takeover after the leader stopped renewing: ${takeoverMs} ms`);

    await waitFor('the rollout to be promoted', async () => ((await row()).state === 'Promoted' ? true : null), PATIENT).catch(async (error: Error) => {
      const current = await row();
      throw new Error(`${error.message}: ${current.state} step ${current.stepIndex + 1} ${current.outcome}; replica B said: ${logsB.slice(-3).join(' | ') || 'nothing'}`);
    });
    const desired = await r.f.db.$transaction((tx) => readDesiredModule(tx, 'ledger'));
    assert.deepEqual(desired?.versions.map((v) => [v.version, v.weight]), [['1.0.0', 0], ['1.1.0', 100]]);

    const events = await r.f.db.auditEvent.findMany({ where: { targetId: proposed.id, action: { startsWith: 'rollout.' } }, orderBy: { seq: 'asc' } });
    const keyOf = (e: { action: string; details: string }) => `${e.action}#${(JSON.parse(e.details) as { step?: number }).step ?? ''}`;
    const counts = new Map<string, number>();
    for (const e of events) counts.set(keyOf(e), (counts.get(keyOf(e)) ?? 0) + 1);
    for (const key of ['rollout.preflight_passed#', 'rollout.step_started#1', 'rollout.step_confirmed#1', 'rollout.step_passed#1', 'rollout.step_started#2', 'rollout.step_confirmed#2', 'rollout.step_passed#2', 'rollout.step_started#3', 'rollout.step_confirmed#3', 'rollout.step_passed#3', 'rollout.promoted#']) {
      assert.equal(counts.get(key), 1, `${key} written once: ${[...counts].join(', ')}`);
    }
    const steps = await r.f.db.rolloutPhase.findMany({ where: { changeRequestId: proposed.id, kind: 'step' }, orderBy: { id: 'asc' } });
    assert.deepEqual(steps.map((s) => s.stepIndex), [0, 1, 2], 'no step started twice');
    const hold = steps[1];
    assert.ok(hold.endedAt!.getTime() - hold.confirmedAt!.getTime() >= 6_000, 'the hold of step 2 ran its full 6 s across the takeover');

    const elections = await r.f.db.auditEvent.findMany({ where: { action: 'cluster.leader_elected' }, orderBy: { seq: 'asc' } });
    assert.deepEqual(elections.map((e) => [JSON.parse(e.details).replica, JSON.parse(e.details).epoch]), [['replica-a', 1], ['replica-b', 2]]);
    assert.ok(logsA.some((line) => /no longer holds the rollout-engine lease of epoch 1/.test(line)), `the stale leader kept trying and was refused: ${logsA.slice(-3).join(' | ')}`);
    assert.equal(logsB.filter((line) => /lease/.test(line)).length, 0);
  });
});
