import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { AuditActor } from '../audit/actor';
import type { RolloutOutcome } from '../rollout/change-request.types';
import { proposeChange } from '../rollout/change-request';
import { openReview } from '../rollout/reviews';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { overview } from './overview';
import { overviewOutput } from './overview.types';

// The landing page's query against a real console database: each section from rows put there the way the
// console's own code paths write them, read by each kind of person.

const MINUTE = 60_000;
const oncall: AuditActor = { id: 'oc-1', name: 'oc-1@test', roles: ['oncall'] };

describe('overview', () => {
  let r: RolloutFixture;
  const ids: Record<string, string> = {};

  async function finishAsRolledBack(id: string, outcome: RolloutOutcome, at: Date) {
    await r.f.db.changeRequest.update({ where: { id }, data: { state: 'RolledBack', finishedAt: at, outcome: JSON.stringify(outcome) } });
    await r.f.db.rolloutPhase.create({ data: { changeRequestId: id, kind: 'rollback', weight: 0, generation: null, startedAt: at, detail: outcome.message } });
  }

  before(async () => {
    r = await createRolloutFixture();
    const db = r.f.db;
    await db.user.create({ data: { id: oncall.id, email: oncall.name, name: oncall.id, roles: 'oncall', emailVerified: true } });
    const propose = (toVersion: string) => proposeChange(db, r.operator.actor, { module: 'ledger', toVersion, reason: 'overview test', ticket: 'OV-1' });

    // A rollout at step 2 of 4 with a verdict.
    const running = await propose('1.1.0');
    ids.running = running.id;
    await db.changeRequest.update({ where: { id: running.id }, data: { state: 'Canary', stepIndex: 1, stepPhase: 'analysing' } });
    const t = new Date();
    await db.rolloutDecision.create({
      data: { changeRequestId: running.id, stepIndex: 1, time: t, verdict: 'inconclusive', metric: 'requests', checks: '[]', windowFrom: t, windowTo: t, canaryRequests: 3, stableRequests: 90 },
    });

    // Waiting for approval: proposed by the operator.
    ids.pending = (await propose('1.2.3')).id;

    // Three rolled back before promotion in a row: the breaker opens; the newest is a one-click with a review.
    const now = Date.now();
    // The fixture's first version was promoted a moment ago; the rollbacks below come after it.
    await db.changeRequest.update({ where: { id: 'cr-1' }, data: { finishedAt: new Date(now - 10 * MINUTE), promotedAt: new Date(now - 10 * MINUTE) } });
    const breach = await propose('1.2.4');
    await finishAsRolledBack(breach.id, { trigger: 'breach', message: 'error rate 12 % over 1 %', metric: 'error-rate' }, new Date(now - 3 * MINUTE));
    const deadline = await propose('1.2.4');
    await finishAsRolledBack(deadline.id, { trigger: 'deadline', message: 'step 1 not passed within 300 s' }, new Date(now - 2 * MINUTE));
    const oneClick = await propose('1.2.4');
    ids.oneClick = oneClick.id;
    await finishAsRolledBack(oneClick.id, { trigger: 'one-click', message: 'break-glass', by: { id: oncall.id, name: oncall.name }, reason: 'checkout errors' }, new Date(now - MINUTE));
    const review = await db.$transaction((tx) =>
      openReview(tx, oncall, { module: 'ledger', changeRequestId: oneClick.id, from: '1.2.4', to: '1.0.0', warm: true, generation: null, reason: 'checkout errors' }, now - MINUTE, 30_000),
    );
    ids.review = review.id;
    // A rollback older than a day is not "recent".
    const old = await propose('1.2.4');
    await finishAsRolledBack(old.id, { trigger: 'breach', message: 'old' }, new Date(now - 25 * 60 * MINUTE));

    // Hosts: one silent, one reporting but behind the generation for long, one with a resident and a failed version.
    await db.fleetGeneration.update({ where: { id: 1 }, data: { generation: 7, updatedAt: new Date(now - 10 * MINUTE) } });
    const report = JSON.stringify([
      { module: 'ledger', version: '1.1.0', sm3: '', isolation: 'inproc', phase: 'resident', weight: 0, healthy: false, reason: 'dlclose left it mapped', load: {}, inFlight: 0, goRuntime: false, since: new Date().toISOString() },
      { module: 'ledger', version: '1.2.1', sm3: '', isolation: 'process', phase: 'failed', weight: 0, healthy: false, reason: 'self-test failed', load: {}, inFlight: 0, goRuntime: false, since: new Date().toISOString() },
    ]);
    await db.host.createMany({
      data: [
        { id: 'h-silent', name: 'silent-1', lastSeenAt: new Date(now - 5 * MINUTE), appliedGeneration: 7 },
        { id: 'h-behind', name: 'behind-1', lastSeenAt: new Date(), appliedGeneration: 5 },
        { id: 'h-ok', name: 'ok-1', lastSeenAt: new Date(), appliedGeneration: 7, lastReport: report },
      ],
    });
    // ledger 1.0.0 serves all traffic; withdrawing it flags it.
    await db.moduleVersion.update({ where: { moduleName_version: { moduleName: 'ledger', version: '1.0.0' } }, data: { status: 'revoked', revokedReason: 'bad build' } });
  });

  const settings = () => ({ breaker: r.settings.breaker });

  it('lists running rollouts with their step and latest verdict', async () => {
    const view = overviewOutput.parse(await overview(r.f.db, { id: r.approver.actor.id, approves: true }, settings()));
    const running = view.rollouts.find((x) => x.id === ids.running);
    assert.ok(running, 'the canary is listed');
    assert.deepEqual({ step: running.step?.index, of: running.step?.of, weight: running.step?.weight }, { step: 1, of: 4, weight: 25 });
    assert.equal(running.latestVerdict?.verdict, 'inconclusive');
    assert.equal(view.rollouts.length, 1, 'finished and pending requests are not running rollouts');
  });

  it('an approver sees requests waiting for them; the proposer and other roles see only how many wait', async () => {
    const approver = await overview(r.f.db, { id: r.approver.actor.id, approves: true }, settings());
    assert.ok(approver.approvals.mine);
    assert.deepEqual(approver.approvals.items.map((i) => i.id), [ids.pending]);
    const operator = await overview(r.f.db, { id: r.operator.actor.id, approves: false }, settings());
    assert.equal(operator.approvals.mine, false);
    assert.deepEqual(operator.approvals.items, []);
    assert.equal(operator.approvals.waiting, 1);
    const proposerAsApprover = await overview(r.f.db, { id: r.operator.actor.id, approves: true }, settings());
    assert.deepEqual(proposerAsApprover.approvals.items, [], 'nobody is asked to approve their own request');
  });

  it('shows the open circuit breaker with when it closes', async () => {
    const view = await overview(r.f.db, { id: oncall.id, approves: false }, settings());
    const breaker = view.breakers.find((b) => b.module === 'ledger');
    assert.ok(breaker, 'three rollbacks in a row open the breaker');
    assert.ok(breaker.until > Date.now(), 'it closes in the future');
    assert.match(breaker.reason, /3 rollouts in a row/);
  });

  it('lists the last day\'s rollbacks, newest first, with trigger, who and why, and the review of a one-click', async () => {
    const view = await overview(r.f.db, { id: oncall.id, approves: false }, settings());
    assert.deepEqual(view.rollbacks.map((x) => x.trigger), ['one-click', 'deadline', 'breach'], 'the one older than 24 h is left out');
    const newest = view.rollbacks[0];
    assert.deepEqual({ id: newest.changeRequestId, by: newest.by, why: newest.why, from: newest.from, to: newest.to, review: newest.reviewId }, {
      id: ids.oneClick,
      by: oncall.name,
      why: 'checkout errors',
      from: '1.2.4',
      to: '1.0.0',
      review: ids.review,
    });
    assert.equal(view.rollbacks[2].why, 'error rate 12 % over 1 %');
  });

  it('lists open reviews, the overdue one marked', async () => {
    const view = await overview(r.f.db, { id: oncall.id, approves: false }, settings());
    assert.deepEqual(view.reviews.map((x) => [x.id, x.overdue]), [[ids.review, true]]);
  });

  it('lists silent and out-of-sync hosts, and flags withdrawn, resident and load-failed versions', async () => {
    const view = await overview(r.f.db, { id: oncall.id, approves: false }, settings());
    const hosts = Object.fromEntries(view.hosts.map((h) => [h.name, h.problem]));
    assert.equal(hosts['silent-1'], 'silent');
    assert.equal(hosts['behind-1'], 'out-of-sync');
    assert.equal(hosts['ok-1'], undefined);
    const flagged = view.versions.map((v) => `${v.module} ${v.version} ${v.problem} ${v.host ?? '-'}`).sort();
    assert.deepEqual(flagged, ['ledger 1.0.0 withdrawn -', 'ledger 1.1.0 resident ok-1', 'ledger 1.2.1 load-failed ok-1']);
    assert.match(view.versions.find((v) => v.problem === 'withdrawn')!.reason, /revoked \(bad build\)/);
  });
});
