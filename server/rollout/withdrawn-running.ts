import { versionRefusal } from '../artifacts/version-validity';
import type { DbTransaction } from '../db/client';
import type { DesiredModule } from '../protocol';

export interface WithdrawnRunning {
  version: string;
  weight: number;
  reason: string;
}

/**
 * Versions that carry traffic although they may no longer run (signer revoked, manifest expired): the module page
 * and the on-call screen flag them beside the one-click rollback. Nothing moves by itself: which version takes the
 * traffic instead is on-call's decision.
 */
export async function withdrawnRunningVersions(tx: DbTransaction, desired: DesiredModule | null, now = new Date()): Promise<WithdrawnRunning[]> {
  const live = desired?.versions.filter((v) => v.weight > 0) ?? [];
  if (live.length === 0) return [];
  const rows = await tx.moduleVersion.findMany({
    where: { moduleName: desired!.module, version: { in: live.map((v) => v.version) } },
    include: { signer: true },
  });
  return live.flatMap((v) => {
    const row = rows.find((r) => r.version === v.version);
    const reason = row ? versionRefusal(row, now) : `${desired!.module} ${v.version} is not in the registry`;
    return reason ? [{ version: v.version, weight: v.weight, reason }] : [];
  });
}
