import semver from 'semver';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { Db } from '../db/client';
import { nudgeDesiredStateWatch } from '../fleet/desired-changes';
import { readDesiredModule } from '../fleet/desired-state';
import { DomainError, DomainErrorCode } from '../errors';
import { NEVER_HOT_UPGRADABLE, type ModuleClass } from './manifest';
import type { CheckResult } from './checks';

// Read side of the module registry, shaped for the console and the CLI.

export async function listModules(db: Db) {
  const modules = await db.module.findMany({
    orderBy: { name: 'asc' },
    include: { versions: { include: { signer: true } } },
  });
  return modules.map((m) => {
    const accepted = m.versions.filter((v) => v.status === 'accepted').sort((a, b) => semver.rcompare(a.version, b.version));
    const latest = accepted[0];
    return {
      name: m.name,
      class: m.class,
      hotUpgradable: !NEVER_HOT_UPGRADABLE.includes(m.class as ModuleClass),
      versionCount: m.versions.length,
      latest: latest
        ? {
            version: latest.version,
            sm3: latest.sm3,
            createdAt: latest.createdAt,
            signer: { name: latest.signer.name, fingerprint: latest.signer.fingerprint, subjectDn: latest.signer.subjectDn },
          }
        : null,
    };
  });
}

function parseChecks(text: string): CheckResult[] {
  return JSON.parse(text) as CheckResult[];
}

export async function moduleDetail(db: Db, name: string) {
  const found = await db.module.findUnique({
    where: { name },
    include: { versions: { include: { signer: true, report: true } } },
  });
  if (!found) throw new DomainError(DomainErrorCode.NotFound, `no module named "${name}" in the registry`);
  const rejections = await db.verificationReport.findMany({
    where: { moduleName: name, outcome: 'rejected' },
    orderBy: { createdAt: 'desc' },
    take: 20,
  });
  return {
    name: found.name,
    class: found.class,
    hotUpgradable: !NEVER_HOT_UPGRADABLE.includes(found.class as ModuleClass),
    versions: found.versions
      .sort((a, b) => semver.rcompare(a.version, b.version))
      .map((v) => ({
        id: v.id,
        version: v.version,
        status: v.status,
        size: v.size,
        sm3: v.sm3,
        sha256: v.sha256,
        goRuntime: v.goRuntime,
        createdAt: v.createdAt,
        uploadedBy: v.uploadedBy,
        revokedAt: v.revokedAt,
        revokedReason: v.revokedReason,
        manifestText: v.manifestText,
        signer: { id: v.signer.id, name: v.signer.name, fingerprint: v.signer.fingerprint, subjectDn: v.signer.subjectDn },
        report: { id: v.report.id, checks: parseChecks(v.report.checks), createdAt: v.report.createdAt },
      })),
    rejections: rejections.map((r) => ({
      id: r.id,
      createdAt: r.createdAt,
      version: r.version,
      fileName: r.fileName,
      failedCheck: r.failedCheck,
      message: r.message,
      checks: parseChecks(r.checks),
    })),
  };
}

export async function recentReports(db: Db, take = 50) {
  const rows = await db.verificationReport.findMany({ orderBy: { createdAt: 'desc' }, take });
  return rows.map((r) => ({ ...r, checks: parseChecks(r.checks) }));
}

export async function getReport(db: Db, id: string) {
  const r = await db.verificationReport.findUnique({ where: { id } });
  if (!r) throw new DomainError(DomainErrorCode.NotFound, `no verification report ${id}`);
  return { ...r, checks: parseChecks(r.checks) };
}

// A revoked version stays in the registry (its history matters) but can never be served or re-uploaded.
export async function revokeVersion(db: Db, actor: AuditActor, versionId: string, reason: string) {
  await db.$transaction(async (tx) => {
    const v = await tx.moduleVersion.findUnique({ where: { id: versionId } });
    if (!v) throw new DomainError(DomainErrorCode.NotFound, `no module version ${versionId}`);
    if (v.status === 'revoked') throw new DomainError(DomainErrorCode.Conflict, `${v.moduleName} ${v.version} is already revoked`);
    const running = await readDesiredModule(tx, v.moduleName);
    if (running?.versions.some((d) => d.version === v.version)) {
      throw new DomainError(
        DomainErrorCode.Conflict,
        `${v.moduleName} ${v.version} is in the desired state of the fleet: roll back or move its traffic away first, then revoke it`,
      );
    }
    const revokedAt = new Date();
    await tx.moduleVersion.update({ where: { id: versionId }, data: { status: 'revoked', revokedAt, revokedReason: reason } });
    await appendAuditEvent(tx, {
      actor,
      action: 'artifact.revoked',
      targetType: 'module-version',
      targetId: `${v.moduleName}@${v.version}`,
      details: { sm3: v.sm3, sha256: v.sha256, reason, effectiveTime: revokedAt.toISOString() },
    });
  });
  // The hosts' long-polls end with the new revoked list (their local admin may not bring this version back).
  nudgeDesiredStateWatch();
}
