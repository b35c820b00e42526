import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { AuditActor } from '../audit/actor';
import { generateSm2KeyPair } from '../crypto';
import { DomainError, DomainErrorCode } from '../errors';
import { replaceDesiredModule } from '../fleet/desired-state';
import { fleetMetrics } from '../fleet/metrics-store';
import { registerSigner, revokeSigner } from '../signers/registry';
import { compileLedger } from '../testing/compile-ledger';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { approveChange } from './approvals';
import { proposeChange } from './change-request';
import { startRollout } from './operate';
import { planRollback, rollbackTargets } from './rollback';
import { createWebhook } from './webhooks';

const ADMIN: AuditActor = { id: 'admin-1', name: 'admin@test', roles: ['admin'] };
const DAY = 86_400_000;

const refusedWith = (code: DomainErrorCode, pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof DomainError, String(error));
  assert.equal(error.code, code);
  assert.match(error.message, pattern);
  return true;
};

// Whether a version may run is asked again at every step, not only at upload: signers get revoked, manifests expire.
describe('version validity: revoked signers, signing outside validity, expired manifests', () => {
  let r: RolloutFixture;
  const contractor = generateSm2KeyPair();
  let contractorId: string;

  async function upload(version: string, options: { key?: string; editManifest?: (m: Record<string, unknown>) => void } = {}) {
    const so = await compileLedger(r.f.work, { file: `ledger-${version}.so`, version });
    return r.f.upload(await r.f.signedArtifact({ so, module: 'ledger', version, ...options }));
  }

  before(async () => {
    r = await createRolloutFixture();
    contractorId = (
      await registerSigner(r.f.db, ADMIN, {
        name: 'Contractor signer',
        subjectDn: 'CN=Contractor,O=Vendor,C=CN',
        serial: '2002',
        publicKey: contractor.publicKeyPem,
        allowedModules: ['ledger'],
        notBefore: new Date(Date.now() - DAY),
        notAfter: new Date(Date.now() + DAY),
      })
    ).id;
  });

  it('attack: after its signer is revoked, a version cannot be proposed nor rolled back to; every version it signed is marked signer-revoked, audited, and the webhook names the running one', async () => {
    for (const version of ['2.1.0', '2.2.0']) assert.equal((await upload(version, { key: contractor.privateKeyPem })).outcome, 'accepted');
    const running = await r.f.db.moduleVersion.findUniqueOrThrow({ where: { moduleName_version: { moduleName: 'ledger', version: '2.2.0' } } });
    // 2.2.0 went live before anyone knew the contractor's key had leaked.
    await r.f.db.$transaction((tx) => replaceDesiredModule(tx, 'ledger', { module: 'ledger', versions: [{ version: '2.2.0', sm3: running.sm3, weight: 100, isolation: 'process' }] }, 'test'));
    await createWebhook(r.f.db, ADMIN, { kind: 'signer-revoked', url: 'http://127.0.0.1:9/hook' });

    const { withdrawn } = await revokeSigner(r.f.db, ADMIN, contractorId, 'key found on a public file share');
    assert.deepEqual(withdrawn.map((w) => `${w.module}@${w.version}:${w.running}`), ['ledger@2.1.0:false', 'ledger@2.2.0:true']);
    const statuses = await r.f.db.moduleVersion.findMany({ where: { signerId: contractorId }, orderBy: { version: 'asc' } });
    assert.deepEqual(statuses.map((v) => v.status), ['signer-revoked', 'signer-revoked']);
    const audited = await r.f.db.auditEvent.findMany({ where: { action: 'artifact.signer_revoked' }, orderBy: { seq: 'asc' } });
    assert.deepEqual(audited.map((e) => e.targetId), ['ledger@2.1.0', 'ledger@2.2.0']);
    const delivery = await r.f.db.webhookDelivery.findFirstOrThrow({ where: { kind: 'signer-revoked' } });
    assert.deepEqual(JSON.parse(delivery.payload).running, ['ledger@2.2.0']);

    await assert.rejects(
      proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '2.1.0', reason: 'back to the contractor build', ticket: 'CHG-9' }),
      refusedWith(DomainErrorCode.InvalidInput, /ledger 2\.1\.0 is signer-revoked: its signer "Contractor signer" was revoked at .* \(key found on a public file share\).*cannot be rolled out/),
    );
    assert.equal(await r.f.db.changeRequest.count({ where: { toVersion: '2.1.0' } }), 0, 'no change request was created');
    // The one-click rollback from the running signer-revoked 2.2.0 skips 2.1.0 (same signer) and lands on 2.0.0.
    const plan = await r.f.db.$transaction((tx) => planRollback(tx, 'ledger'));
    assert.equal(plan.kind, 'registry');
    assert.deepEqual([(plan as { to: string }).to, (plan as { from: string }).from], ['2.0.0', '2.2.0']);
    // The module page and the on-call screen flag the running one beside that rollback.
    const row = (await rollbackTargets(r.f.db)).find((t) => t.module === 'ledger')!;
    assert.deepEqual(row.withdrawn.map((w) => [w.version, w.weight]), [['2.2.0', 100]]);
    assert.match(row.withdrawn[0].reason, /ledger 2\.2\.0 is signer-revoked/);
    assert.deepEqual(row.rollback, { possible: true, from: '2.2.0', to: '2.0.0', warm: false });
  });

  it('attack: an approved change request whose target manifest has since expired cannot be started', async () => {
    await r.f.db.$transaction(async (tx) => {
      const stable = await tx.moduleVersion.findUniqueOrThrow({ where: { moduleName_version: { moduleName: 'ledger', version: '2.0.0' } } });
      await replaceDesiredModule(tx, 'ledger', { module: 'ledger', versions: [{ version: '2.0.0', sm3: stable.sm3, weight: 100, isolation: 'process' }] }, 'test');
    });
    const accepted = await upload('2.3.0', { editManifest: (m) => (m.expires = new Date(Date.now() + DAY).toISOString()) });
    assert.equal(accepted.outcome, 'accepted', accepted.message);
    const row = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '2.3.0', reason: 'short-lived build', ticket: 'CHG-10' });
    await approveChange(r.f.db, r.approver.actor, { id: row.id, digest: row.digest, signature: r.sign(row.digest, r.approver) }, { ttlMs: 10 * DAY });
    const twoDaysLater = Date.now() + 2 * DAY;
    await assert.rejects(
      startRollout({ db: r.f.db, settings: r.settings, metrics: fleetMetrics() }, r.operator.actor, row.id, twoDaysLater),
      refusedWith(DomainErrorCode.Conflict, /ledger 2\.3\.0's manifest expired at .*; the rollout cannot start/),
    );
    assert.equal((await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: row.id } })).state, 'Approved', 'nothing changed');
    assert.equal(await r.f.db.auditEvent.count({ where: { action: 'rollout.started', targetId: row.id } }), 0);
  });

  it('attack: a manifest dated before its signer’s validity began is refused at upload', async () => {
    const result = await upload('2.4.0', { editManifest: (m) => (m.created = new Date(Date.now() - 3 * DAY).toISOString()) });
    assert.equal(result.outcome, 'rejected');
    const failed = result.checks.find((c) => c.status === 'fail');
    assert.equal(failed?.check, 'signer');
    assert.match(failed!.detail, /the manifest was created at .*, outside signer "Release signer"'s validity/);
  });
});
