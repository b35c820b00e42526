import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TRPCError } from '@trpc/server';
import type { Role } from '../../auth/permissions';
import type { SessionUser } from '../../auth/session';
import { openReview } from '../../rollout/reviews';
import { deliverDueWebhooks, webhookSignature } from '../../rollout/webhooks';
import { createRolloutFixture, type RolloutFixture } from '../../testing/rollout-fixture';
import { createCaller } from '../root';

// Issue 11's screens through tRPC as each person calls them: the overview, the changes filters, reviews and the
// webhooks page's test event (delivered to a real receiver on loopback by the real outbox sender).

function user(id: string, roles: Role[]): SessionUser {
  return { id, name: id, email: `${id}@test`, roles, via: 'cookie' };
}

const headers = new Headers({ origin: 'http://localhost:3000', host: 'localhost:3000' });

async function rejectsWith(promise: Promise<unknown>, code: TRPCError['code'], pattern?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TRPCError, String(error));
    assert.equal(error.code, code, error.message);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

describe('overview, changes filters, reviews and webhooks through tRPC', () => {
  let r: RolloutFixture;
  const operator = user('o-op', ['operator']);
  const otherOperator = user('o-op2', ['operator']);
  // The fixture's approver, with a registered SM2 key.
  const approver = user('ap-1', ['approver']);
  // Rolls back (on-call) and acknowledges reviews (approver): the four-eyes rule is about the person.
  const oncallApprover = user('o-oa', ['oncall', 'approver']);
  const admin = user('o-ad', ['admin']);
  const auditor = user('o-au', ['auditor']);
  const call = (who: SessionUser) => createCaller({ db: r.f.db, headers, user: who });
  const received: Received[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });

  before(async () => {
    r = await createRolloutFixture();
    for (const who of [operator, otherOperator, oncallApprover, admin, auditor]) {
      await r.f.db.user.create({ data: { id: who.id, email: who.email, name: who.name, roles: who.roles.join(','), emailVerified: true } });
    }
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });
  after(() => receiver.close());

  it('every role lands on the overview; approvers get their queue, the others a count', async () => {
    const mine = await call(operator).rollouts.changes.propose({ module: 'ledger', toVersion: '1.1.0', reason: 'filters', ticket: 'F-1' });
    for (const who of [operator, approver, oncallApprover, admin, auditor]) {
      const view = await call(who).overview.get();
      assert.equal(view.approvals.waiting, 1, `${who.id} sees how many wait`);
      assert.deepEqual(view.approvals.items.map((i) => i.id), who.roles.includes('approver') ? [mine.id] : [], who.id);
      assert.deepEqual(view.rollouts, []);
    }
  });

  it('the changes list filters by state, module, mine and waiting for me', async () => {
    const theirs = await call(otherOperator).rollouts.changes.propose({ module: 'ledger', toVersion: '1.2.3', reason: 'filters', ticket: 'F-2', submit: false });
    const ids = async (who: SessionUser, filter: Parameters<ReturnType<typeof call>['rollouts']['changes']['list']>[0]) =>
      (await call(who).rollouts.changes.list(filter)).map((c) => c.id);
    const mineIds = await ids(operator, { mine: true });
    assert.ok(mineIds.length === 1 && !mineIds.includes(theirs.id), 'mine: only what the caller proposed');
    assert.deepEqual(await ids(otherOperator, { mine: true }), [theirs.id]);
    assert.deepEqual(await ids(operator, { state: ['Draft'] }), [theirs.id]);
    assert.deepEqual((await ids(operator, { state: ['Draft', 'PendingApproval'] })).length, 2);
    assert.deepEqual(await ids(operator, { module: 'nothing-here' }), []);
    const waiting = await ids(approver, { waitingForMe: true });
    assert.equal(waiting.length, 1, 'a draft waits for nobody');
    assert.deepEqual(await ids(user('ap-2', ['approver']), { waitingForMe: true }), waiting, 'it waits for every approver but the proposer');
    assert.deepEqual(await ids(operator, { waitingForMe: true }), [], 'nobody waits for the proposer');
    await r.approve(waiting[0], (await call(approver).rollouts.changes.digest({ id: waiting[0] })).digest);
    assert.deepEqual(await ids(approver, { waitingForMe: true }), [], 'approved by me: no longer waits for me');
    assert.deepEqual(await ids(user('ap-2', ['approver']), { waitingForMe: true }), [], 'one approval was enough: it waits for nobody');
  });

  it('a review opened by a rollback shows its timeline and is acknowledged by someone else', async () => {
    const review = await r.f.db.$transaction((tx) =>
      openReview(tx, { id: oncallApprover.id, name: oncallApprover.name, roles: oncallApprover.roles }, { module: 'ledger', changeRequestId: 'cr-1', from: '1.1.0', to: '1.0.0', warm: true, generation: null, reason: 'errors at checkout' }, Date.now(), 60_000),
    );
    const seen = await call(oncallApprover).rollouts.operate.review({ id: review.id });
    assert.match(seen.acknowledgeRefusal ?? '', /you rolled this back/);
    assert.ok(seen.timeline.some((e) => e.action === 'review.opened'), 'the timeline comes from the audit trail');
    assert.ok(seen.timeline.some((e) => e.action === 'hosts.confirmed'), 'nothing to confirm: confirmed at once');
    assert.equal((await call(approver).rollouts.operate.review({ id: review.id })).acknowledgeRefusal, null);
    await rejectsWith(call(operator).rollouts.operate.review({ id: 'no-such' }), 'NOT_FOUND');

    await rejectsWith(call(approver).rollouts.operate.acknowledgeReview({ id: review.id, note: 'ok' }), 'BAD_REQUEST');
    await call(approver).rollouts.operate.acknowledgeReview({ id: review.id, note: 'checkout fix before retry' });
    const done = await call(auditor).rollouts.operate.review({ id: review.id });
    assert.equal(done.acknowledged?.by, approver.email);
    assert.match(done.acknowledgeRefusal ?? '', /acknowledged already/);
    assert.ok(done.timeline.some((e) => e.action === 'review.acknowledged' && e.summary === 'checkout fix before retry'));
  });

  it('attack: the person who rolled back cannot acknowledge the review through the API, and the attempt is audited', async () => {
    const review = await r.f.db.$transaction((tx) =>
      openReview(tx, { id: oncallApprover.id, name: oncallApprover.name, roles: oncallApprover.roles }, { module: 'ledger', changeRequestId: null, from: '1.1.0', to: '1.0.0', warm: true, generation: null, reason: 'mine' }, Date.now(), 60_000),
    );
    await rejectsWith(call(oncallApprover).rollouts.operate.acknowledgeReview({ id: review.id, note: 'looks fine to me' }), 'FORBIDDEN', /another approver/);
    assert.equal((await r.f.db.postIncidentReview.findUniqueOrThrow({ where: { id: review.id } })).acknowledgedAt, null);
    const refused = await r.f.db.auditEvent.findFirst({ where: { action: 'review.acknowledge_refused', targetId: review.id } });
    assert.equal(refused?.actorId, oncallApprover.id);
  });

  it('send test event: a signed `test` event reaches a real receiver through the outbox, audited, and shows in the deliveries', async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const hook = await call(admin).rollouts.webhooks.create({ kind: 'rolled-back', url });
    const sent = await call(admin).rollouts.webhooks.sendTest({ id: hook.id });
    assert.equal((await call(admin).rollouts.webhooks.deliveries({ id: hook.id })).deliveries[0].state, 'pending');
    await deliverDueWebhooks(r.f.db, { maxAttempts: 3, retryMs: 100 });
    assert.equal(received.length, 1);
    const got = received[0];
    assert.equal(got.headers['x-hotplane-event'], 'test');
    assert.equal(got.headers['x-hotplane-delivery'], sent.deliveryId);
    assert.equal(got.headers['x-hotplane-signature'], webhookSignature(hook.secret, got.body), 'signed with the secret shown once');
    assert.equal(JSON.parse(got.body).sentBy, admin.email);
    const [delivery] = (await call(admin).rollouts.webhooks.deliveries({ id: hook.id })).deliveries;
    assert.deepEqual({ state: delivery.state, status: delivery.lastStatus, attempts: delivery.attempts }, { state: 'delivered', status: 204, attempts: 1 });
    const audited = await r.f.db.auditEvent.findFirst({ where: { action: 'webhook.test_sent', targetId: hook.id } });
    assert.equal(audited?.actorId, admin.id);
    await rejectsWith(call(admin).rollouts.webhooks.sendTest({ id: 'no-such' }), 'NOT_FOUND');
  });

  it('attack: an operator cannot send test events nor read deliveries, and nothing is queued', async () => {
    // Its own webhook, so the attack runs alone as well (proof/attacks.proof.ts runs only the attack tests).
    const hook = await call(admin).rollouts.webhooks.create({ kind: 'rolled-back', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/attack` });
    const before = await r.f.db.webhookDelivery.count();
    for (const who of [operator, approver, oncallApprover, auditor]) {
      await rejectsWith(call(who).rollouts.webhooks.sendTest({ id: hook.id }), 'FORBIDDEN');
      await rejectsWith(call(who).rollouts.webhooks.deliveries({ id: hook.id }), 'FORBIDDEN');
    }
    assert.equal(await r.f.db.webhookDelivery.count(), before);
  });
});
