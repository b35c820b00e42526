// Runs alone (scripts/test.mjs): it judges a real rollout under live traffic, whose latency other test files'
// CPU use would skew.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readDesiredModule } from '../fleet/desired-state';
import { FleetMetrics } from '../fleet/metrics-store';
import { startInProcessHost, type InProcessHost } from '../testing/in-process-host';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { proposeChange } from './change-request';
import type { RolloutOutcome } from './change-request.types';
import { RolloutEngine } from './engine';
import { startRollout } from './operate';

// Faults the analysis never needs to weigh: a self-test that fails in the preflight probe, and a canary whose
// cell dies of SIGSEGV. Real host, real fault builds (modules/faults.h).

describe('rollout engine: preflight failures and crashes', () => {
  let r: RolloutFixture;
  let h: InProcessHost;
  let engine: RolloutEngine;
  const metrics = new FleetMetrics();

  async function run(toVersion: string, until: string) {
    const proposed = await proposeChange(r.f.db, r.operator.actor, {
      module: 'ledger',
      toVersion,
      reason: `try ${toVersion}`,
      plan: { steps: [{ weight: 20, holdSeconds: 5 }, { weight: 100, holdSeconds: 1 }], analysis: { intervalSeconds: 0.25, windowSeconds: 3 } },
    });
    await r.approve(proposed.id, proposed.digest);
    const started = await startRollout({ db: r.f.db, settings: r.settings, metrics }, r.operator.actor, proposed.id);
    assert.equal(started.started, true);
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
      const row = await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: proposed.id } });
      if (row.state === until) return row;
    }
    throw new Error(`${proposed.id} never became ${until}`);
  }

  before(async () => {
    r = await createRolloutFixture();
    h = await startInProcessHost(r.f.db, metrics);
    h.setTraffic(200);
    engine = new RolloutEngine({ db: r.f.db, metrics, settings: r.settings, log: () => undefined }).start();
  });

  after(async () => {
    await engine.stop();
    await h.stop();
  });

  it('a self-test that fails in the preflight probe ends the request with nothing served', async () => {
    const before = await r.f.db.fleetGeneration.findUniqueOrThrow({ where: { id: 1 } });
    const failed = await run('1.2.1', 'Failed');
    const outcome = JSON.parse(failed.outcome!) as RolloutOutcome;
    assert.equal(outcome.trigger, 'preflight');
    assert.match(outcome.message, /hp_self_test returned/);
    assert.equal((await r.f.db.fleetGeneration.findUniqueOrThrow({ where: { id: 1 } })).generation, before.generation, 'the desired state was never touched');
    assert.ok(!h.host.versionStatuses().some((v) => v.version === '1.2.1'));
    const phase = await r.f.db.rolloutPhase.findFirstOrThrow({ where: { changeRequestId: failed.id, kind: 'preflight' } });
    assert.equal(phase.result, 'failed');
    assert.ok(await r.f.db.auditEvent.findFirst({ where: { action: 'rollout.preflight_failed', targetId: failed.id } }));
  });

  it('a canary that crashes is rolled back at once, naming the crash', async () => {
    const rolledBack = await run('1.2.4', 'RolledBack');
    const outcome = JSON.parse(rolledBack.outcome!) as RolloutOutcome;
    assert.equal(outcome.metric, 'crash');
    assert.equal(outcome.threshold, 0);
    // Even when the crashed cell was replaced before the host's next report, the crash event in it decides.
    assert.match(outcome.message, /^rolled back at once: embedded: 1\.2\.4 crashed/);
    const desired = await r.f.db.$transaction((tx) => readDesiredModule(tx, 'ledger'));
    assert.deepEqual(desired?.versions.map((v) => [v.version, v.weight]), [['1.0.0', 100]]);
    const decisions = await r.f.db.rolloutDecision.findMany({ where: { changeRequestId: rolledBack.id } });
    assert.ok(decisions.every((d) => d.verdict !== 'pass'), 'no window with a crash ever passed');
  });
});
