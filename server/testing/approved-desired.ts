import { generateSm2KeyPair } from '../crypto';
import type { Db } from '../db/client';
import type { AuditActor } from '../audit/actor';
import { applyThroughChangeRequest, type ApproverWithKey } from '../rollout/approved-change';
import { loadRolloutSettings } from '../rollout/settings';
import { registerSigningKey } from '../rollout/signing-keys';
import type { ProposeDesiredInput } from '../rollout/whole-change.types';

// For tests that need a module running in a given shape: the shape goes live through an approved change request
// (proposed by `proposer`, approved by a test approver whose key is registered once per database).

const approvers = new WeakMap<Db, Promise<ApproverWithKey>>();

function testApprover(db: Db): Promise<ApproverWithKey> {
  let approver = approvers.get(db);
  if (!approver) {
    approver = (async () => {
      const actor: AuditActor = { id: 'fixture-approver', name: 'approver@fixture', roles: ['approver'] };
      const keys = generateSm2KeyPair();
      // A real account: approvals are checked against the approver's account, role and key (four-eyes.ts).
      await db.user.create({ data: { id: actor.id, email: actor.name, name: 'Fixture approver', roles: 'approver', emailVerified: true } });
      await registerSigningKey(db, actor, { publicKey: keys.publicKeyPem, label: 'fixture approver key' });
      return { actor, privateKeyPem: keys.privateKeyPem };
    })();
    approvers.set(db, approver);
  }
  return approver;
}

export async function putLiveApproved(db: Db, proposer: AuditActor, input: Omit<ProposeDesiredInput, 'reason'> & { reason?: string }) {
  return applyThroughChangeRequest(db, { reason: `fixture: ${input.module} as the test needs it`, ...input }, {
    proposer,
    approver: await testApprover(db),
    settings: loadRolloutSettings(),
  });
}
