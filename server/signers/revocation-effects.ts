import '../artifacts/audit-actions';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { DbTransaction } from '../db/client';
import { nudgeDesiredStateWatch } from '../fleet/desired-changes';
import { readDesiredState } from '../fleet/desired-state';
import { enqueueWebhookEvent } from '../rollout/webhooks';

export interface SignerRevokedVersion {
  module: string;
  version: string;
  sm3: string;
  running: boolean;
}

// What revoking a signer does to what it signed, inside the revocation's own transaction: every version it signed
// that was still accepted becomes `signer-revoked` (audited one by one), and the `signer-revoked` webhook names the
// ones the fleet still runs, so on-call can roll them back. Running versions are not unloaded here: moving traffic
// is a rollback's job (one click on the module page or the on-call screen), not a side effect of a registry edit.
export async function withdrawVersionsOfSigner(
  tx: DbTransaction,
  actor: AuditActor,
  signer: { id: string; name: string; fingerprint: string },
  reason: string,
  revokedAt: Date,
): Promise<SignerRevokedVersion[]> {
  const signed = await tx.moduleVersion.findMany({ where: { signerId: signer.id, status: 'accepted' }, orderBy: [{ moduleName: 'asc' }, { createdAt: 'asc' }] });
  if (signed.length === 0) return [];
  const desired = await readDesiredState(tx);
  const runs = (module: string, version: string) =>
    desired.modules.some((m) => m.module === module && m.versions.some((v) => v.version === version && v.weight > 0));
  const withdrawn: SignerRevokedVersion[] = [];
  // The revoked list the hosts are told changes once this transaction commits (the watch reads until it sees it).
  nudgeDesiredStateWatch();
  for (const v of signed) {
    const revokedReason = `signer "${signer.name}" revoked: ${reason}`;
    await tx.moduleVersion.update({ where: { id: v.id }, data: { status: 'signer-revoked', revokedAt, revokedReason } });
    const running = runs(v.moduleName, v.version);
    await appendAuditEvent(tx, {
      actor,
      action: 'artifact.signer_revoked',
      targetType: 'module-version',
      targetId: `${v.moduleName}@${v.version}`,
      details: { signerId: signer.id, signerFingerprint: signer.fingerprint, sm3: v.sm3, sha256: v.sha256, reason, running, effectiveTime: revokedAt.toISOString() },
    });
    withdrawn.push({ module: v.moduleName, version: v.version, sm3: v.sm3, running });
  }
  await enqueueWebhookEvent(tx, 'signer-revoked', {
    signer: signer.name,
    fingerprint: signer.fingerprint,
    reason,
    versions: withdrawn.map((w) => `${w.module}@${w.version}`),
    running: withdrawn.filter((w) => w.running).map((w) => `${w.module}@${w.version}`),
  });
  return withdrawn;
}
