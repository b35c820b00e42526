// The fields the regulator's seed asks of every rollout event that changes what serves traffic: the SHA-256 of
// the version being replaced (pre-upgrade), the version put in its place with its signer's DN and serial, the
// approving operators' key fingerprints, and when the change takes effect.
import type { ChangeRequest } from '../db/generated/client';
import type { DbTransaction } from '../db/client';

export interface RolloutSeedFields {
  preUpgradeVersion: string | null;
  /** Null when nothing ran before (the first version of a module). */
  preUpgradeSha256: string | null;
  installedVersion: string;
  installedSha256: string | null;
  signerDn: string | null;
  signerSerial: string | null;
  operatorKeyFingerprints: string[];
  effectiveAt: string;
}

/** `direction`: 'forward' installs the request's new version; 'back' restores the one it replaced. */
export async function rolloutSeedFields(tx: DbTransaction, row: ChangeRequest, direction: 'forward' | 'back', now: number): Promise<RolloutSeedFields> {
  const [replaced, installed] = direction === 'forward' ? [row.fromVersion, row.toVersion] : [row.toVersion, row.fromVersion];
  const versionOf = (version: string) =>
    version ? tx.moduleVersion.findUnique({ where: { moduleName_version: { moduleName: row.module, version } }, include: { signer: true } }) : null;
  const [before, after, approvals] = await Promise.all([
    versionOf(replaced),
    versionOf(installed),
    tx.approval.findMany({ where: { changeRequestId: row.id, revision: row.revision, decision: 'approved', voidedAt: null }, orderBy: { createdAt: 'asc' } }),
  ]);
  return {
    preUpgradeVersion: replaced || null,
    preUpgradeSha256: before?.sha256 ?? null,
    installedVersion: installed,
    installedSha256: after?.sha256 ?? null,
    signerDn: after?.signer.subjectDn ?? null,
    signerSerial: after?.signer.serial ?? null,
    operatorKeyFingerprints: approvals.flatMap((approval) => (approval.keyFingerprint ? [approval.keyFingerprint] : [])),
    effectiveAt: new Date(now).toISOString(),
  };
}
