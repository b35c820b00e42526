// Runs alone (scripts/test.mjs): it judges a real rollout under live traffic, whose latency other test files'
// CPU use would skew.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readDesiredState } from '../fleet/desired-state';
import { registerHost } from '../fleet/hosts';
import { FleetMetrics } from '../fleet/metrics-store';
import { ingestHostReport } from '../fleet/report-intake';
import type { MetricSample, VersionStatus } from '../protocol';
import { startInProcessHost, type InProcessHost } from '../testing/in-process-host';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { waitFor } from '../testing/wait-for';
import { proposeChange } from './change-request';
import type { RolloutOutcome } from './change-request.types';
import { RolloutEngine } from './engine';
import type { HostVerdict } from './host-analysis';
import { startRollout } from './operate';

// A whole rollout with two hosts: the real one (real cells running ledger 1.2.3, which fails about 25 % of calls,
// under 300 requests a second) and one whose token an attacker holds. The forger confirms every step as an honest
// host would and reports 40,000 clean requests a second, under the requests/s cap, through the console's intake.

const FORGED_PER_SECOND = 40_000;

describe('a canary judged against a host that lies', () => {
  let r: RolloutFixture;
  let h: InProcessHost;
  let engine: RolloutEngine;
  let forging: NodeJS.Timeout | undefined;
  const metrics = new FleetMetrics();

  async function forgeOnce(lastSecond: { value: number }) {
    const state = await r.f.db.$transaction((tx) => readDesiredState(tx));
    const ledger = state.modules.find((m) => m.module === 'ledger')!;
    const second = Math.floor(Date.now() / 1000) - 1;
    const versions: VersionStatus[] = ledger.versions.map((v) => ({
      module: 'ledger', version: v.version, sm3: v.sm3, isolation: v.isolation, phase: 'serving', weight: v.weight, healthy: true,
      load: {}, inFlight: 0, goRuntime: false, since: new Date().toISOString(),
    }));
    const samples: MetricSample[] = second > lastSecond.value
      ? ledger.versions.filter((v) => v.weight > 0).map((v) => {
          const requests = Math.floor((FORGED_PER_SECOND * v.weight) / 100);
          return { module: 'ledger', version: v.version, second: new Date(second * 1000).toISOString(), requests, ok: requests, app4xx: 0, errors5xx: 0, timeouts: 0, crashes: 0, p50: 300, p95: 500, p99: 700, max: 900 };
        })
      : [];
    lastSecond.value = Math.max(lastSecond.value, second);
    await ingestHostReport(r.f.db, metrics, { id: 'edge-forger', name: 'edge-forger' }, { hostId: 'edge-forger', appliedGeneration: state.generation, startedAt: new Date().toISOString(), versions, metrics: samples, events: [] });
  }

  before(async () => {
    r = await createRolloutFixture();
    await registerHost(r.f.db, r.f.actor, { name: 'edge-forger' });
    h = await startInProcessHost(r.f.db, metrics);
    await waitFor('the host to serve ledger 1.0.0', async () => h.host.versionStatuses().some((v) => v.version === '1.0.0' && v.phase === 'serving'), { timeoutMs: 60_000 });
    h.setTraffic(300);
    const lastSecond = { value: 0 };
    let busy = false;
    forging = setInterval(() => {
      if (busy) return;
      busy = true;
      forgeOnce(lastSecond).catch(() => undefined).finally(() => (busy = false));
    }, 200);
    engine = new RolloutEngine({ db: r.f.db, metrics, settings: r.settings, log: () => undefined }).start();
  });

  after(async () => {
    clearInterval(forging);
    await engine?.stop();
    await h?.stop();
  });

  it('attack: a host reporting 40,000 clean canary requests a second does not get a canary that fails 25 % of calls promoted: the honest host’s breach rolls it back', async () => {
    const plan = {
      steps: [{ weight: 5, holdSeconds: 2 }, { weight: 100, holdSeconds: 2 }],
      analysis: { intervalSeconds: 0.25, windowSeconds: 3, minRequests: 20, maxErrorPercent: 1, maxErrorRatio: 2, maxP95Ratio: 1.2, p95NoiseMs: 5, maxP95Ms: 1000 },
      stepDeadlineSeconds: 30,
      rollbackWindowSeconds: 60,
      isolation: 'process' as const,
    };
    const proposed = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.2.3', plan, reason: 'roll out 1.2.3' });
    await r.approve(proposed.id, proposed.digest);
    const started = await startRollout({ db: r.f.db, settings: r.settings, metrics }, r.operator.actor, proposed.id);
    assert.equal(started.started, true, JSON.stringify(started));
    const ended = await waitFor('the rollout to end', async () => {
      const row = await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: proposed.id } });
      return row.state === 'RolledBack' || row.state === 'Promoted' ? row : null;
    }, { timeoutMs: 60_000 });
    assert.equal(ended.state, 'RolledBack');
    const outcome = JSON.parse(ended.outcome!) as RolloutOutcome;
    assert.deepEqual([outcome.trigger, outcome.metric], ['breach', 'error-rate']);
    assert.match(outcome.message, /embedded: \d+ of \d+ canary requests failed/);
    const breach = await r.f.db.rolloutDecision.findFirstOrThrow({ where: { changeRequestId: proposed.id, verdict: 'breach' } });
    const verdicts = JSON.parse(breach.hostVerdicts!) as HostVerdict[];
    assert.deepEqual(verdicts.map((v) => [v.host, v.verdict]).sort(), [['edge-forger', 'pass'], ['embedded', 'breach']]);
    assert.ok(breach.canaryRequests > 1_000, `the forged requests were counted (${breach.canaryRequests}) and still did not outvote the honest host`);
  });
});
