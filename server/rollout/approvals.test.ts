import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { DomainError, DomainErrorCode } from '../errors';
import { fleetMetrics } from '../fleet/metrics-store';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { approveChange, rejectChange } from './approvals';
import { editChange, planOf, proposeChange } from './change-request';
import { changeDigest, changeDigestText } from './digest';
import { startRollout } from './operate';
import { registerSigningKey, revokeSigningKey } from './signing-keys';
import { generateSm2KeyPair, signSm2 } from '../crypto';

const refusedWith = (code: DomainErrorCode, pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof DomainError, String(error));
  assert.equal(error.code, code);
  assert.match(error.message, pattern);
  return true;
};

describe('change requests: digest and four-eyes approvals', () => {
  let r: RolloutFixture;
  const propose = (overrides: Record<string, unknown> = {}) =>
    proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', reason: 'fee per transfer', ticket: 'CHG-1', ...overrides });

  before(async () => {
    r = await createRolloutFixture();
  });

  it('the digest covers id, revision, both versions with their SM3, and the plan', async () => {
    const row = await propose();
    assert.equal(row.state, 'PendingApproval');
    assert.equal(row.fromVersion, '1.0.0');
    assert.equal(row.requiredApprovals, 1);
    const subject = { ...row, plan: planOf(row) };
    assert.equal(changeDigest(subject), row.digest);
    const text = changeDigestText(subject);
    assert.ok(text.startsWith('{"from":{"sm3":"'), 'canonical: keys sorted');
    for (const part of [`"id":"${row.id}"`, '"revision":1', `"sm3":"${row.toSm3}"`, '"schema":"hotplane.change-request/v1"', '"steps":[{"holdSeconds":30,"weight":5}']) {
      assert.ok(text.includes(part), part);
    }
    const variants = [{ id: 'cr-999' }, { revision: 2 }, { toSm3: '0'.repeat(64) }, { fromVersion: '0.9.0' }, { plan: { ...subject.plan, rollbackWindowSeconds: 60 } }];
    for (const change of variants) assert.notEqual(changeDigest({ ...subject, ...change }), row.digest, JSON.stringify(change));
  });

  it('the requester cannot approve their own request', async () => {
    const row = await propose();
    await registerSigningKey(r.f.db, r.operator.actor, { publicKey: r.operator.keys.publicKeyPem, label: 'operator key' });
    await assert.rejects(
      approveChange(r.f.db, r.operator.actor, { id: row.id, digest: row.digest, signature: r.sign(row.digest, r.operator) }, { ttlMs: 60_000 }),
      refusedWith(DomainErrorCode.Forbidden, /cannot approve or reject it: a second person must/),
    );
  });

  it('an approval signed for one request fails on another', async () => {
    const first = await propose();
    const second = await propose();
    const signature = r.sign(first.digest, r.approver);
    await assert.rejects(
      approveChange(r.f.db, r.approver.actor, { id: second.id, digest: first.digest, signature }, { ttlMs: 60_000 }),
      refusedWith(DomainErrorCode.Conflict, /changed since you loaded it/),
    );
    await assert.rejects(
      approveChange(r.f.db, r.approver.actor, { id: second.id, digest: second.digest, signature }, { ttlMs: 60_000 }),
      refusedWith(DomainErrorCode.InvalidInput, /does not verify against your registered key/),
    );
    assert.equal((await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: second.id } })).state, 'PendingApproval');
  });

  it('a signature by another key than the registered one fails', async () => {
    const row = await propose();
    const stranger = generateSm2KeyPair();
    const forged = Buffer.from(signSm2(Buffer.from(row.digest, 'hex'), stranger.privateKeyPem)).toString('hex');
    await assert.rejects(
      approveChange(r.f.db, r.approver.actor, { id: row.id, digest: row.digest, signature: forged }, { ttlMs: 60_000 }),
      refusedWith(DomainErrorCode.InvalidInput, /does not verify/),
    );
    const keyless = { id: 'ap-nokey', name: 'ap-nokey@test', roles: ['approver'] };
    await r.f.db.user.create({ data: { id: keyless.id, email: keyless.name, name: 'No key', roles: 'approver' } });
    await assert.rejects(
      approveChange(r.f.db, keyless, { id: row.id, digest: row.digest, signature: forged }, { ttlMs: 60_000 }),
      refusedWith(DomainErrorCode.InvalidInput, /register your SM2 public key/),
    );
  });

  it('a valid approval is recorded with its key and approves the request; an approver cannot approve twice', async () => {
    const row = await propose();
    const result = await r.approve(row.id, row.digest);
    assert.deepEqual({ approvals: result.approvals, required: result.required, approved: result.approved }, { approvals: 1, required: 1, approved: true });
    const stored = await r.f.db.approval.findUniqueOrThrow({ where: { id: result.approvalId } });
    assert.equal(stored.keyFingerprint, (await r.f.db.userSigningKey.findFirstOrThrow({ where: { userId: 'ap-1', revokedAt: null } })).fingerprint);
    assert.equal((await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: row.id } })).state, 'Approved');
    const event = await r.f.db.auditEvent.findFirstOrThrow({ where: { action: 'change.approved', targetId: row.id } });
    assert.equal(event.actorKeyFp, stored.keyFingerprint);
    await assert.rejects(r.approve(row.id, row.digest), refusedWith(DomainErrorCode.Conflict, /only a request waiting for approval/));
  });

  it('an approval made before an edit is void, and the edited revision needs a new one', async () => {
    const row = await propose();
    await r.approve(row.id, row.digest);
    const edited = await editChange(r.f.db, r.operator.actor, { id: row.id, revision: 1, reason: 'fee per transfer, reviewed by finance' });
    assert.equal(edited.revision, 2);
    assert.equal(edited.state, 'PendingApproval');
    assert.notEqual(edited.digest, row.digest);
    const approvals = await r.f.db.approval.findMany({ where: { changeRequestId: row.id } });
    assert.equal(approvals.length, 1);
    assert.ok(approvals[0].voidedAt);
    assert.match(approvals[0].voidReason!, /edited to revision 2/);
    assert.ok(await r.f.db.auditEvent.findFirst({ where: { action: 'change.approval_voided', targetId: row.id } }));
    await assert.rejects(
      approveChange(r.f.db, r.approver.actor, { id: row.id, digest: row.digest, signature: r.sign(row.digest, r.approver) }, { ttlMs: 60_000 }),
      refusedWith(DomainErrorCode.Conflict, /changed since you loaded it/),
    );
    await assert.rejects(
      editChange(r.f.db, r.operator.actor, { id: row.id, revision: 1, ticket: 'CHG-2' }),
      refusedWith(DomainErrorCode.Conflict, /revision 2 now, you edited revision 1/),
    );
    assert.equal((await r.approve(row.id, edited.digest)).approved, true);
  });

  it('only the requester edits', async () => {
    const row = await propose();
    const otherOperator = { id: 'op-2', name: 'op-2@test', roles: ['operator'] };
    await assert.rejects(editChange(r.f.db, otherOperator, { id: row.id, revision: 1, ticket: 'X' }), refusedWith(DomainErrorCode.Forbidden, /only op-1@test/));
  });

  it('a major version bump needs two approvers', async () => {
    const row = await propose({ toVersion: '2.0.0' });
    assert.equal(row.requiredApprovals, 2);
    const first = await r.approve(row.id, row.digest, r.approver);
    assert.equal(first.approved, false);
    assert.equal((await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: row.id } })).state, 'PendingApproval');
    await assert.rejects(r.approve(row.id, row.digest, r.approver), refusedWith(DomainErrorCode.Conflict, /another approver/));
    const second = await r.approve(row.id, row.digest, r.secondApprover);
    assert.deepEqual({ approvals: second.approvals, approved: second.approved }, { approvals: 2, approved: true });
  });

  it('an expired approval does not start a rollout: the request goes back to the approvers', async () => {
    const row = await propose();
    await approveChange(r.f.db, r.approver.actor, { id: row.id, digest: row.digest, signature: r.sign(row.digest, r.approver) }, { ttlMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const result = await startRollout({ db: r.f.db, settings: r.settings, metrics: fleetMetrics() }, r.operator.actor, row.id);
    assert.equal(result.started, false);
    assert.match((result as { reason: string }).reason, /expired/);
    const after = await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: row.id } });
    assert.equal(after.state, 'PendingApproval');
    assert.ok(await r.f.db.auditEvent.findFirst({ where: { action: 'change.approvals_lapsed', targetId: row.id } }));
  });

  it('an approver may reject with a reason; the requester may edit and resubmit', async () => {
    const row = await propose();
    await assert.rejects(rejectChange(r.f.db, r.operator.actor, { id: row.id, revision: 1, reason: 'mine' }), refusedWith(DomainErrorCode.Forbidden, /cannot approve or reject/));
    await rejectChange(r.f.db, r.approver.actor, { id: row.id, revision: 1, reason: 'no ticket for the fee change' });
    const rejected = await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: row.id } });
    assert.equal(rejected.state, 'Rejected');
    const rejection = await r.f.db.approval.findFirstOrThrow({ where: { changeRequestId: row.id, decision: 'rejected' } });
    assert.equal(rejection.reason, 'no ticket for the fee change');
    const edited = await editChange(r.f.db, r.operator.actor, { id: row.id, revision: 1, ticket: 'CHG-77' });
    assert.equal(edited.state, 'PendingApproval');
  });

  it('a proposal is refused for an unknown version, an unknown module, and the stable itself', async () => {
    await assert.rejects(propose({ toVersion: '9.9.9' }), refusedWith(DomainErrorCode.NotFound, /not in the registry/));
    await assert.rejects(propose({ toVersion: '1.0.0' }), refusedWith(DomainErrorCode.InvalidInput, /already the stable/));
    await assert.rejects(propose({ module: 'nothing' }), refusedWith(DomainErrorCode.NotFound, /no module named/));
  });

  it('the plan is validated: ascending weights ending at 100, holds shorter than the deadline', async () => {
    await assert.rejects(propose({ plan: { steps: [{ weight: 50, holdSeconds: 1 }, { weight: 25, holdSeconds: 1 }, { weight: 100, holdSeconds: 1 }] } }), /more weight than the one before/);
    await assert.rejects(propose({ plan: { steps: [{ weight: 50, holdSeconds: 1 }] } }), /last step gives the canary 100 %/);
    await assert.rejects(propose({ plan: { stepDeadlineSeconds: 10, steps: [{ weight: 100, holdSeconds: 10 }] } }), /before the step deadline/);
  });

  it('revoking a key voids the approvals it signed on requests not yet started', async () => {
    const row = await propose();
    await r.approve(row.id, row.digest, r.secondApprover);
    assert.equal((await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: row.id } })).state, 'Approved');
    const key = await r.f.db.userSigningKey.findFirstOrThrow({ where: { userId: 'ap-2', revokedAt: null } });
    await revokeSigningKey(r.f.db, r.secondApprover.actor, key.id);
    const after = await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: row.id }, include: { approvals: true } });
    assert.equal(after.state, 'PendingApproval');
    assert.match(after.approvals[0].voidReason!, /was revoked/);
    await assert.rejects(r.approve(row.id, row.digest, r.secondApprover), refusedWith(DomainErrorCode.InvalidInput, /register your SM2 public key/));
  });
});
