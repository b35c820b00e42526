import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readDesiredModule } from '../fleet/desired-state';
import { registerHost } from '../fleet/hosts';
import { FleetMetrics } from '../fleet/metrics-store';
import { ingestHostReport } from '../fleet/report-intake';
import type { HostEvent, VersionStatus } from '../protocol';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { proposeChange } from './change-request';
import type { RolloutOutcome } from './change-request.types';
import { RolloutEngine } from './engine';
import { canaryHealth, onlineHosts, reportedCrash } from './fleet-bridge';
import { startRollout } from './operate';

// A report's statuses are a snapshot taken after the host replaced a crashed cell; only its events still say the
// canary crashed. These reports are written by hand so that the statuses can be healthy while an event says
// otherwise, which a real host shows only when the replacement wins the race with its next report.

describe('a crash reported as an event, with the canary healthy again in the same report', () => {
  let r: RolloutFixture;
  let engine: RolloutEngine;
  const metrics = new FleetMetrics();
  const host = { id: 'edge-1', name: 'edge-1' };

  const status = (version: string, weight: number, sm3: string): VersionStatus => ({
    module: 'ledger', version, sm3, isolation: 'process', phase: 'serving', weight, healthy: true,
    load: { verifyMs: 1, dlopenMs: 1, initMs: 1, selfTestMs: 1 }, inFlight: 0, goRuntime: false, since: new Date().toISOString(),
  });

  async function report(appliedGeneration: number, versions: VersionStatus[], events: HostEvent[]) {
    await ingestHostReport(r.f.db, metrics, host, { hostId: host.id, appliedGeneration, startedAt: new Date().toISOString(), versions, metrics: [], events });
  }

  before(async () => {
    r = await createRolloutFixture();
    await registerHost(r.f.db, r.f.actor, { name: host.name });
    engine = new RolloutEngine({ db: r.f.db, metrics, settings: r.settings, log: () => undefined });
  });
  after(() => engine.stop());

  it('rolls the canary back with metric "crash" on the event alone', async () => {
    const proposed = await proposeChange(r.f.db, r.operator.actor, {
      module: 'ledger',
      toVersion: '1.1.0',
      reason: 'try 1.1.0',
      plan: { steps: [{ weight: 20, holdSeconds: 60 }, { weight: 100, holdSeconds: 1 }], analysis: { intervalSeconds: 0.25, windowSeconds: 3 } },
    });
    await r.approve(proposed.id, proposed.digest);
    assert.equal((await startRollout({ db: r.f.db, settings: r.settings, metrics }, r.operator.actor, proposed.id)).started, true);
    const row = () => r.f.db.changeRequest.findUniqueOrThrow({ where: { id: proposed.id } });
    for (const deadline = Date.now() + 30_000; (await row()).state !== 'Canary'; await new Promise((resolve) => setTimeout(resolve, 50))) {
      assert.ok(Date.now() < deadline, `${proposed.id} never left preflight: ${(await row()).state}`);
      await engine.tick();
    }

    const canary = await row();
    const desired = (await r.f.db.$transaction((tx) => readDesiredModule(tx, 'ledger')))!;
    const sm3 = (version: string) => desired.versions.find((v) => v.version === version)!.sm3;
    await report(
      canary.stepGeneration!,
      [status('1.0.0', 80, sm3('1.0.0')), status('1.1.0', 20, sm3('1.1.0'))],
      [{ time: new Date().toISOString(), module: 'ledger', version: '1.1.0', kind: 'crashed', message: 'cell died of SIGSEGV' }],
    );
    assert.deepEqual(canaryHealth(await onlineHosts(r.f.db), 'ledger', '1.1.0'), { crashed: null, unhealthy: null }, 'the statuses alone show a healthy canary');

    await engine.tick();
    const rolledBack = await row();
    assert.equal(rolledBack.state, 'RolledBack');
    const outcome = JSON.parse(rolledBack.outcome!) as RolloutOutcome;
    assert.equal(outcome.metric, 'crash');
    assert.equal(outcome.message, 'rolled back at once: edge-1: 1.1.0 crashed (cell died of SIGSEGV)');
  });

  it('reportedCrash ignores a crash from before the change started', async () => {
    const crashedAt = new Date(Date.now() - 60_000);
    // Stored as the intake stores an accepted event (the intake itself refuses reports about versions never desired).
    await r.f.db.hostEvent.create({ data: { hostId: host.id, time: crashedAt, module: 'ledger', version: '1.2.4', kind: 'crashed', message: 'an earlier try' } });
    await r.f.db.$transaction(async (tx) => {
      assert.equal(await reportedCrash(tx, 'ledger', '1.2.4', new Date(crashedAt.getTime() + 1)), null);
      assert.equal(await reportedCrash(tx, 'ledger', '1.2.4', crashedAt), 'edge-1: 1.2.4 crashed (an earlier try)');
    });
  });
});
