import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { DomainError, DomainErrorCode } from '../errors';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { approveChange } from './approvals';
import { proposeChange } from './change-request';
import { canApprove, type ApproverRecord } from './four-eyes';
import { registerSigningKey } from './signing-keys';

// Minimum approver role age with the production setting (24 h), and four-eyes checked before it, so a
// self-approval is refused as a self-approval.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const approverRecord = (overrides: Partial<ApproverRecord> = {}): ApproverRecord => ({
  id: 'ap',
  email: 'ap@test',
  exists: true,
  disabled: false,
  roles: ['approver'],
  approverSince: new Date(0),
  activeKeys: ['k1'],
  ...overrides,
});

describe('canApprove: the one approval rule', () => {
  const change = { id: 'cr-1', requestedById: 'op' };
  const at = 10 * DAY;
  it('names the rule each refusal breaks', () => {
    const cases: [Partial<ApproverRecord>, Partial<{ signedWith: string }>, string][] = [
      [{ id: 'op' }, {}, 'four-eyes'],
      [{ disabled: true }, {}, 'account'],
      [{ exists: false }, {}, 'account'],
      [{ roles: ['auditor'], approverSince: null }, {}, 'role'],
      [{ approverSince: new Date(at - HOUR) }, {}, 'role-age'],
      [{}, { signedWith: 'k0' }, 'key'],
    ];
    for (const [record, rule, expected] of cases) {
      const verdict = canApprove(approverRecord(record), change, { at, minRoleAgeMs: DAY, ...rule });
      assert.equal(verdict.ok ? 'ok' : verdict.rule, expected, JSON.stringify(record));
    }
    assert.deepEqual(canApprove(approverRecord(), change, { at, minRoleAgeMs: DAY, signedWith: 'k1' }), { ok: true });
  });
});

describe('approver role age (24 h)', () => {
  let r: RolloutFixture;
  const refusedWith = (pattern: RegExp) => (error: unknown) => {
    assert.ok(error instanceof DomainError, String(error));
    assert.equal(error.code, DomainErrorCode.Forbidden);
    assert.match(error.message, pattern);
    return true;
  };
  const grantedAgo = (userId: string, role: string, ms: number) =>
    r.f.db.roleGrant.create({
      data: { id: randomUUID(), userId, role, state: 'applied', via: 'confirmed', requestedById: 'adm', requestedByName: 'adm@test', requestedAt: new Date(Date.now() - ms), decidedAt: new Date(Date.now() - ms) },
    });
  const approveAs = (who: RolloutFixture['approver'], id: string, digest: string) =>
    approveChange(r.f.db, who.actor, { id, digest, signature: r.sign(digest, who) }, { ttlMs: DAY, minRoleAgeMs: DAY });

  before(async () => {
    r = await createRolloutFixture();
  });

  it('attack: an approver who has held the role for 1 h cannot approve while the minimum is 24 h', async () => {
    await grantedAgo(r.approver.actor.id, 'approver', HOUR);
    const row = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', reason: 'fresh approver' });
    await assert.rejects(approveAs(r.approver, row.id, row.digest), refusedWith(/has held the approver role for 1 h; an approver counts only after 24 h/));
    assert.equal(await r.f.db.approval.count({ where: { changeRequestId: row.id } }), 0, 'no approval was recorded');
    assert.equal((await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: row.id } })).state, 'PendingApproval');
    const refusal = await r.f.db.auditEvent.findFirstOrThrow({ where: { action: 'change.approval_refused', targetId: row.id } });
    assert.match(refusal.details, /"rule":"role-age"/);
  });

  it('an approver who has held the role for 25 h approves', async () => {
    await grantedAgo(r.secondApprover.actor.id, 'approver', 25 * HOUR);
    const row = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', reason: 'seasoned approver' });
    assert.equal((await approveAs(r.secondApprover, row.id, row.digest)).approved, true);
  });

  it('attack: a proposer who is also a fresh approver is refused for four-eyes, not for role age', async () => {
    const dual = { ...r.operator, actor: { ...r.operator.actor, roles: ['operator', 'approver'] } };
    await r.f.db.user.update({ where: { id: dual.actor.id }, data: { roles: 'operator,approver' } });
    await grantedAgo(dual.actor.id, 'approver', HOUR);
    await registerSigningKey(r.f.db, dual.actor, { publicKey: dual.keys.publicKeyPem, label: 'dual' });
    const row = await proposeChange(r.f.db, dual.actor, { module: 'ledger', toVersion: '1.1.0', reason: 'my own change' });
    await assert.rejects(approveAs(dual, row.id, row.digest), refusedWith(/proposed .* and cannot approve or reject it: a second person must/));
    assert.equal(await r.f.db.approval.count({ where: { changeRequestId: row.id } }), 0);
    const refusal = await r.f.db.auditEvent.findFirstOrThrow({ where: { action: 'change.approval_refused', targetId: row.id } });
    assert.match(refusal.details, /"rule":"four-eyes"/);
  });
});
