import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import type { AnalysisCheck } from './analysis';
import { planOf, proposeChange } from './change-request';
import { canaryVsStableSeries, decisionsNewestFirst, requestPageDetail, stepClock, verdictSummary } from './request-view';
import { listDecisions } from './views';

const PLAN = {
  steps: [
    { weight: 10, holdSeconds: 20 },
    { weight: 100, holdSeconds: 5 },
  ],
};

function checks(canaryError: number, stableError: number, canaryP95: number, stableP95: number): AnalysisCheck[] {
  return [
    { metric: 'crash', result: 'pass', value: 0, baseline: null, threshold: 0, unit: 'count', detail: 'no crash' },
    { metric: 'error-rate', result: 'pass', value: canaryError, baseline: null, threshold: 5, unit: '%', detail: '' },
    { metric: 'error-rate-vs-stable', result: 'inconclusive', value: canaryError, baseline: stableError, threshold: stableError * 2, unit: '%', detail: '' },
    { metric: 'p95-latency', result: 'pass', value: canaryP95, baseline: null, threshold: 100, unit: 'ms', detail: '' },
    { metric: 'p95-vs-stable', result: 'breach', value: canaryP95, baseline: stableP95, threshold: stableP95 * 1.5, unit: 'ms', detail: '' },
  ];
}

describe('request page read model: step clock, latest verdict, canary-vs-stable series, judgement count', () => {
  let r: RolloutFixture;
  before(async () => {
    r = await createRolloutFixture();
  });

  it('the step clock says when the hold ends and what follows, and nothing runs once the request is finished', async () => {
    const row = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', reason: 'clock', ticket: '', plan: PLAN });
    const plan = planOf(row);
    const holdUntil = new Date('2026-12-05T06:00:20Z');
    const deadline = new Date('2026-12-05T06:05:00Z');
    const holding = stepClock({ state: 'Canary', step: { index: 0, phase: 'holding' }, holdUntil, stepDeadlineAt: deadline, pausedAt: null }, plan);
    assert.deepEqual(holding, {
      phase: 'holding',
      step: 1,
      of: 2,
      weight: 10,
      holdSeconds: 20,
      holdEndsAt: holdUntil.getTime(),
      next: { step: 2, weight: 100 },
      deadlineAt: deadline.getTime(),
      pausedAt: null,
    });
    const last = stepClock({ state: 'Canary', step: { index: 1, phase: 'confirming' }, holdUntil, stepDeadlineAt: deadline, pausedAt: null }, plan);
    assert.equal(last.phase, 'confirming');
    assert.equal(last.holdEndsAt, null, 'no hold runs before the hosts confirm the weights');
    assert.equal(last.next, null, 'after the last step comes the promotion');
    const paused = stepClock({ state: 'Paused', step: { index: 0, phase: 'holding' }, holdUntil, stepDeadlineAt: deadline, pausedAt: holdUntil }, plan);
    assert.equal(paused.phase, 'paused');
    assert.equal(paused.holdEndsAt, null, 'a paused hold does not count down: resuming starts it afresh');
    assert.equal(paused.pausedAt, holdUntil.getTime());
    const done = stepClock({ state: 'RolledBack', step: { index: 0, phase: null }, holdUntil, stepDeadlineAt: deadline, pausedAt: null }, plan);
    assert.equal(done.phase, 'finished');
    assert.equal(done.deadlineAt, null);
    assert.equal(stepClock({ state: 'Approved', step: null, holdUntil: null, stepDeadlineAt: null, pausedAt: null }, plan).phase, 'not-started');
  });

  it('the verdict summary pairs canary and stable per metric and takes the worse of the two checks', () => {
    const time = new Date();
    const decision = { id: 7, step: 1, wave: 1, time, verdict: 'breach' as const, metric: 'p95-vs-stable', checks: checks(1.5, 0.5, 40, 20), window: { from: time, to: time }, canaryRequests: 90, stableRequests: 800, hosts: [], zones: [] };
    const v = verdictSummary(decision)!;
    assert.deepEqual(v.errorRate, { canary: 1.5, stable: 0.5, limit: 5, limitVsStable: 1, result: 'inconclusive' });
    assert.deepEqual(v.p95, { canary: 40, stable: 20, limit: 100, limitVsStable: 30, result: 'breach' });
    assert.equal(v.canaryRequests, 90);
    assert.equal(verdictSummary(undefined), null);
    const series = canaryVsStableSeries([{ ...decision, id: 8, time: new Date(time.getTime() + 1000) }, decision]);
    assert.deepEqual(
      series.map((p) => p.t),
      [time.getTime(), time.getTime() + 1000],
      'oldest first for the chart',
    );
  });

  it('a long canary: the page counts every judgement, shows the newest as the verdict, and the pages of the history hold each one once', async () => {
    const row = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', reason: 'long canary', ticket: '', plan: PLAN });
    const holdUntil = new Date(Date.now() + 20_000);
    await r.f.db.changeRequest.update({ where: { id: row.id }, data: { state: 'Canary', stepIndex: 0, stepPhase: 'holding', holdUntil, stepDeadlineAt: new Date(Date.now() + 60_000) } });
    const start = Date.now() - 120_000;
    for (let i = 0; i < 73; i++) {
      const time = new Date(start + i * 1000);
      await r.f.db.rolloutDecision.create({
        data: { changeRequestId: row.id, stepIndex: 0, waveIndex: 0, time, verdict: 'pass', metric: null, checks: JSON.stringify(checks(i / 10, 0.5, 30, 20)), windowFrom: time, windowTo: time, canaryRequests: 50 + i, stableRequests: 500 },
      });
    }
    const page = await requestPageDetail(r.f.db, row.id, r.operator.actor.id, r.settings.breaker);
    assert.equal(page.decisionCount, 73, 'the count is of every judgement, not of the ones sent with the page');
    assert.equal(page.clock.phase, 'holding');
    assert.equal(page.clock.holdEndsAt, holdUntil.getTime());
    assert.equal(page.latestVerdict?.canaryRequests, 50 + 72, 'the newest judgement is the verdict');
    assert.equal(page.latestVerdict?.errorRate.canary, 7.2);
    assert.equal(page.canaryVsStable.length, page.decisions.length);
    assert.ok(page.canaryVsStable.every((p, i, all) => i === 0 || all[i - 1].t < p.t));

    const seen: number[] = [];
    let afterId: number | undefined;
    for (;;) {
      const rows = await listDecisions(r.f.db, row.id, { afterId, limit: 20 });
      if (rows.length === 0) break;
      seen.push(...rows.map((d) => d.id));
      afterId = rows.at(-1)!.id;
    }
    assert.equal(seen.length, 73);
    assert.equal(new Set(seen).size, 73);

    const newestFirst: number[] = [];
    let beforeId: number | undefined;
    for (;;) {
      const rows = await decisionsNewestFirst(r.f.db, row.id, { beforeId, limit: 20 });
      if (rows.length === 0) break;
      newestFirst.push(...rows.map((d) => d.id));
      beforeId = rows.at(-1)!.id;
    }
    assert.deepEqual(newestFirst, [...seen].reverse(), 'the newest-first pages hold the same judgements, newest on the first page');
    assert.equal(newestFirst[0], page.latestVerdict?.id);
  });
});
