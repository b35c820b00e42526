import type { DbTransaction } from '../db/client';
import type { DesiredModule } from '../protocol';

// What the fleet was told to run, beyond this moment: a version in the fleet-wide rows or in any zone's own rows may be
// reported on, and one record per version that left them is enough to tell which versions a host may still report on
// while they drain or stay resident. A version that comes back into the desired state loses its record.

export async function recordDesiredVersionChanges(tx: DbTransaction, module: string, before: DesiredModule | null, after: DesiredModule | null, now: Date) {
  const staying = new Set((after?.versions ?? []).map((v) => v.version));
  for (const left of before?.versions ?? []) {
    if (staying.has(left.version)) continue;
    const key = { module_version: { module, version: left.version } };
    await tx.retiredDesiredVersion.upsert({ where: key, create: { module, version: left.version, sm3: left.sm3, retiredAt: now }, update: { sm3: left.sm3, retiredAt: now } });
  }
  if (staying.size > 0) await tx.retiredDesiredVersion.deleteMany({ where: { module, version: { in: [...staying] } } });
}

/** Module and version pairs a host may report on at `now`: in the desired state, or left it less than `graceSeconds` ago. */
export async function reportableVersions(tx: DbTransaction, now: Date, graceSeconds: number): Promise<Set<string>> {
  const [fleet, zones, retired] = await Promise.all([
    tx.desiredModule.findMany({ select: { module: true, versions: true } }),
    tx.desiredZoneModule.findMany({ select: { module: true, versions: true } }),
    tx.retiredDesiredVersion.findMany({ where: { retiredAt: { gte: new Date(now.getTime() - graceSeconds * 1000) } }, select: { module: true, version: true } }),
  ]);
  const keys = new Set<string>();
  for (const row of [...fleet, ...zones]) for (const v of JSON.parse(row.versions) as { version: string }[]) keys.add(versionKey(row.module, v.version));
  for (const row of retired) keys.add(versionKey(row.module, row.version));
  return keys;
}

export const versionKey = (module: string, version: string) => `${module}\u0000${version}`;
export const moduleKey = (module: string) => `${module}\u0000`;
