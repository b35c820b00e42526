import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { TRPCError } from '@trpc/server';
import type { Role } from '../../auth/permissions';
import type { SessionUser } from '../../auth/session';
import { generateSm2KeyPair, signSm2 } from '../../crypto';
import { approvalMessage } from '../../rollout/digest';
import { createRolloutFixture, type RolloutFixture } from '../../testing/rollout-fixture';
import { createCaller } from '../root';

// The rollout procedures through tRPC: who may call what, and the approval flow as the browser and CLI drive it.

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

describe('rollouts router', () => {
  let r: RolloutFixture;
  const operator = user('t-op', ['operator']);
  const approver = user('t-ap', ['approver']);
  const oncall = user('t-oc', ['oncall']);
  const auditor = user('t-au', ['auditor']);
  const admin = user('t-ad', ['admin']);
  const approverKeys = generateSm2KeyPair();
  const call = (who: SessionUser) => createCaller({ db: r.f.db, headers, user: who });
  const proposal = { module: 'ledger', toVersion: '1.1.0', reason: 'fee per transfer', ticket: 'CHG-9' };

  before(async () => {
    r = await createRolloutFixture();
    for (const who of [operator, approver, oncall, auditor, admin]) {
      await r.f.db.user.create({ data: { id: who.id, email: who.email, name: who.name, roles: who.roles.join(',') } });
    }
  });

  it('operators propose; approvers, on-call and auditors cannot', async () => {
    for (const who of [approver, oncall, auditor, admin]) await rejectsWith(call(who).rollouts.changes.propose(proposal), 'FORBIDDEN');
    const created = await call(operator).rollouts.changes.propose(proposal);
    assert.equal(created.state, 'PendingApproval');
    for (const who of [approver, oncall, auditor, admin]) assert.equal((await call(who).rollouts.changes.get({ id: created.id })).id, created.id);
  });

  it('an approver registers a key on their profile, reads the digest and approves with a local signature', async () => {
    const created = await call(operator).rollouts.changes.propose(proposal);
    await rejectsWith(call(approver).rollouts.keys.register({ publicKey: 'not a key', label: 'x' }), 'BAD_REQUEST');
    const key = await call(approver).rollouts.keys.register({ publicKey: approverKeys.publicKeyPem, label: 'laptop' });
    assert.equal((await call(approver).rollouts.keys.mine())[0].fingerprint, key.fingerprint);
    await rejectsWith(call(oncall).rollouts.keys.register({ publicKey: approverKeys.publicKeyPem, label: 'stolen' }), 'CONFLICT', /another person/);
    const toSign = await call(approver).rollouts.changes.digest({ id: created.id });
    assert.equal(toSign.digest, created.digest);
    assert.ok(toSign.canonicalText.includes(`"id":"${created.id}"`));
    const signature = Buffer.from(signSm2(approvalMessage(toSign.digest), approverKeys.privateKeyPem)).toString('hex');
    const queue = await call(approver).rollouts.changes.queue();
    assert.ok(queue.some((q) => q.id === created.id));
    assert.ok(!(await call(operator).rollouts.changes.queue()).some((q) => q.id === created.id), 'the requester does not see their own request to approve');
    await rejectsWith(call(operator).rollouts.changes.approve({ id: created.id, digest: toSign.digest, signature }), 'FORBIDDEN');
    await rejectsWith(call(oncall).rollouts.changes.approve({ id: created.id, digest: toSign.digest, signature }), 'FORBIDDEN');
    const approved = await call(approver).rollouts.changes.approve({ id: created.id, digest: toSign.digest, signature });
    assert.equal(approved.approved, true);
    const detail = await call(operator).rollouts.changes.get({ id: created.id });
    assert.equal(detail.state, 'Approved');
    assert.equal(detail.validApprovals, 1);
    assert.equal(detail.approvals[0].standing, 'valid');
    assert.deepEqual(detail.actions.sort(), ['cancel', 'edit', 'start']);
    assert.equal(detail.target?.status, 'accepted');
  });

  it('operating a rollout needs rollouts.operate; rolling back is for on-call and operators', async () => {
    const created = await call(operator).rollouts.changes.propose(proposal);
    for (const who of [approver, oncall, auditor]) await rejectsWith(call(who).rollouts.operate.start({ id: created.id }), 'FORBIDDEN');
    await rejectsWith(call(operator).rollouts.operate.start({ id: created.id }), 'CONFLICT', /PendingApproval change request cannot start/);
    for (const who of [approver, auditor, admin]) await rejectsWith(call(who).rollouts.operate.rollback({ module: 'ledger', reason: 'test' }), 'FORBIDDEN');
    await rejectsWith(call(oncall).rollouts.operate.rollback({ module: 'ledger', reason: 'test' }), 'CONFLICT', /break-glass refused: cr-1 put ledger 1\.0\.0 live as its first version/);
    const targets = await call(oncall).rollouts.operate.targets();
    const ledger = targets.find((t) => t.module === 'ledger')?.rollback;
    assert.equal(ledger?.possible, false);
    assert.match(ledger && !ledger.possible ? ledger.why : '', /cr-1 put ledger 1\.0\.0 live as its first version: there is no earlier stable version/);
  });

  it('breaker override and webhooks are for admins', async () => {
    await rejectsWith(call(operator).rollouts.operate.overrideBreaker({ module: 'ledger', reason: 'please' }), 'FORBIDDEN');
    await rejectsWith(call(admin).rollouts.operate.overrideBreaker({ module: 'ledger', reason: 'please' }), 'CONFLICT', /closed/);
    assert.equal((await call(auditor).rollouts.operate.breaker({ module: 'ledger' })).open, false);
    await rejectsWith(call(operator).rollouts.webhooks.create({ kind: 'promoted', url: 'http://127.0.0.1:9/x' }), 'FORBIDDEN');
    await rejectsWith(call(admin).rollouts.webhooks.create({ kind: 'promoted', url: 'ftp://example/x' }), 'BAD_REQUEST');
    const hook = await call(admin).rollouts.webhooks.create({ kind: 'promoted', url: 'http://127.0.0.1:9/x' });
    assert.ok(hook.secret.length > 20);
    assert.ok(!('secret' in (await call(admin).rollouts.webhooks.list())[0]), 'the secret is shown once');
    await call(admin).rollouts.webhooks.delete({ id: hook.id });
  });

  it('reviews are acknowledged by approvers only', async () => {
    await rejectsWith(call(oncall).rollouts.operate.acknowledgeReview({ id: 'x', note: 'done' }), 'FORBIDDEN');
    await rejectsWith(call(approver).rollouts.operate.acknowledgeReview({ id: 'x', note: 'done' }), 'NOT_FOUND');
  });
});
