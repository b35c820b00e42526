import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import semver from 'semver';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import { config } from '../config';
import type { Db } from '../db/client';
import { listSignerCandidates } from '../signers/registry';
import type { CheckResult } from './checks';
import { receiveToTempFile, UploadTooLargeError } from './receive';
import { identityProbe } from './identity-probe';
import { withKeyedLocks } from './keyed-lock';
import { keepArtifactBytes } from './shared-bytes';
import { outOfSpace, removeStoredArtifact, storeArtifact, type StoredArtifact } from './store';
import './audit-actions';
import { MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES } from './side-file-limits';
import { verifyArtifact, type VerificationOutcome } from './verify-artifact';

export interface UploadInput {
  source: Readable | ReadableStream<Uint8Array>;
  manifestBytes: Uint8Array;
  signatureBytes: Uint8Array;
  fileNames: { so: string; manifest: string; signature: string };
}

export interface UploadResult {
  outcome: VerificationOutcome['outcome'];
  /** Set when the upload lost a race for the same artifact or module version (HTTP 409): nothing of it was kept. */
  conflict?: true;
  /** Set when the request itself lacked what every upload must name (HTTP 400); still reported and audited. */
  badRequest?: true;
  reportId: string;
  versionId?: string;
  module?: string;
  version?: string;
  message: string;
  checks: CheckResult[];
}


function sideFileOverLimit(input: UploadInput): string | null {
  for (const [what, bytes, limit] of [['manifest', input.manifestBytes, MAX_MANIFEST_BYTES], ['signature', input.signatureBytes, MAX_SIGNATURE_BYTES]] as const) {
    if (bytes.length > limit) {
      return `the ${what} file is ${bytes.length} bytes, over the ${limit}-byte limit for a ${what} file: it is a small text file; upload the right one`;
    }
  }
  return null;
}

// The one upload pipeline behind the console page and `hotplane push`: receive → verify → store → record.
// A rejection stores nothing but its report and audit event; an acceptance commits the version, its report
// and its audit event together, after the bytes are safely in the read-only store.
export async function acceptUpload(db: Db, actor: AuditActor, input: UploadInput): Promise<UploadResult> {
  const settings = config();
  if (!input.fileNames.so) {
    const detail = 'the .so has no file name (header X-Hotplane-File-Name is missing or empty): send encodeURIComponent(<file name>) with it';
    return { ...(await recordRejection(db, actor, '', null, [{ check: 'file-names', status: 'fail', detail, durationMs: 0 }])), badRequest: true };
  }
  const oversized = sideFileOverLimit(input);
  if (oversized) return recordRejection(db, actor, input.fileNames.so, null, [{ check: 'size-limit', status: 'fail', detail: oversized, durationMs: 0 }]);
  let received;
  const tempDir = path.join(settings.dataDir, 'tmp');
  try {
    received = await receiveToTempFile(input.source, { tempDir, maxBytes: settings.maxUploadBytes });
  } catch (error) {
    if (error instanceof UploadTooLargeError) {
      return recordRejection(db, actor, input.fileNames.so, null, [
        { check: 'size-limit', status: 'fail', detail: error.message, durationMs: 0 },
      ]);
    }
    throw outOfSpace(error, tempDir) ?? error;
  }
  try {
    const verification = await verifyArtifact({
      soPath: received.path,
      fileNames: input.fileNames,
      received,
      manifestBytes: input.manifestBytes,
      signatureBytes: input.signatureBytes,
      signers: await listSignerCandidates(db),
      forbiddenExportPatterns: settings.forbiddenExportPatterns,
      identityProbe: identityProbe(settings.identityProbeMs),
      registry: {
        versionsOfModule: async (module) =>
          (await db.moduleVersion.findMany({ where: { moduleName: module } })).map((v) => ({ version: v.version, sm3: v.sm3, status: v.status })),
        acceptedWithSameBytes: async (sm3) => {
          const v = await db.moduleVersion.findFirst({ where: { sm3 } });
          return v ? { module: v.moduleName, version: v.version } : null;
        },
      },
    });
    const receiveCheck = verification.checks.find((c) => c.check === 'digest');
    if (receiveCheck) receiveCheck.durationMs = received.durationMs;
    if (verification.outcome === 'rejected') {
      return recordRejection(db, actor, input.fileNames.so, verification.manifest ?? null, verification.checks, verification.message);
    }
    if (verification.outcome === 'duplicate') return recordDuplicate(db, actor, input, verification);
    const m = verification.manifest!;
    // Verification ran without a lock (it is the slow part); storing and recording hold the artifact's digest and
    // the module version, and ask the registry again, so the second of two racing uploads is a clean 409.
    return await withKeyedLocks(db, [`sm3:${received.sm3}`, `version:${m.module}@${m.version}`], async () => {
      const taken = await registryClash(db, m.module, m.version, received.sm3);
      if (taken) return recordConflict(db, actor, input, verification, taken);
      return recordAcceptance(db, actor, input, received, verification);
    });
  } finally {
    await received.discard();
  }
}

async function registryClash(db: Db, module: string, version: string, sm3: string): Promise<string | null> {
  const same = await db.moduleVersion.findFirst({ where: { OR: [{ moduleName: module, version }, { sm3 }] } });
  if (!same) return null;
  const what = same.moduleName === module && same.version === version ? `${module} ${version}` : `these exact bytes (SM3 ${sm3})`;
  return `${what} ${same.moduleName === module && same.version === version ? 'was' : 'were'} accepted by another upload while this one was being verified (as ${same.moduleName} ${same.version}, SM3 ${same.sm3}); nothing of this upload was kept: check the registry, and bump the version if these are different bytes`;
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'P2002';
}

// The loser of a race: its own report (failed check "store") and audit event, answered 409.
async function recordConflict(db: Db, actor: AuditActor, input: UploadInput, verification: VerificationOutcome, detail: string): Promise<UploadResult> {
  const checks: CheckResult[] = [...verification.checks, { check: 'store', status: 'fail', detail, durationMs: 0 }];
  const result = await recordRejection(db, actor, input.fileNames.so, verification.manifest ?? null, checks, undefined, 'artifact.conflict');
  return { ...result, conflict: true };
}

async function recordRejection(
  db: Db,
  actor: AuditActor,
  fileName: string,
  manifest: { module: string; version: string } | null,
  checks: CheckResult[],
  message?: string,
  action: 'artifact.rejected' | 'artifact.conflict' = 'artifact.rejected',
): Promise<UploadResult> {
  const failure = checks.find((c) => c.status === 'fail');
  const text = message ?? `rejected at "${failure?.check}": ${failure?.detail}`;
  const reportId = randomUUID();
  await db.$transaction(async (tx) => {
    await tx.verificationReport.create({
      data: {
        id: reportId,
        outcome: 'rejected',
        moduleName: manifest?.module ?? null,
        version: manifest?.version ?? null,
        fileName,
        failedCheck: failure?.check ?? null,
        message: text,
        checks: JSON.stringify(checks),
        actorId: actor.id,
      },
    });
    await appendAuditEvent(tx, {
      actor,
      action,
      targetType: 'module-version',
      targetId: manifest ? `${manifest.module}@${manifest.version}` : fileName,
      details: { reportId, fileName, failedCheck: failure?.check ?? null, message: text },
    });
  });
  return { outcome: 'rejected', reportId, module: manifest?.module, version: manifest?.version, message: text, checks };
}

async function recordDuplicate(db: Db, actor: AuditActor, input: UploadInput, verification: VerificationOutcome): Promise<UploadResult> {
  const m = verification.manifest!;
  const existing = await db.moduleVersion.findUniqueOrThrow({ where: { moduleName_version: { moduleName: m.module, version: m.version } } });
  await db.$transaction((tx) =>
    appendAuditEvent(tx, {
      actor,
      action: 'artifact.reuploaded',
      targetType: 'module-version',
      targetId: `${m.module}@${m.version}`,
      details: { fileName: input.fileNames.so, sm3: existing.sm3, reportId: existing.reportId, changed: false },
    }),
  );
  return {
    outcome: 'duplicate',
    reportId: existing.reportId,
    versionId: existing.id,
    module: m.module,
    version: m.version,
    message: verification.message,
    checks: verification.checks,
  };
}

async function recordAcceptance(
  db: Db,
  actor: AuditActor,
  input: UploadInput,
  received: { path: string; size: number; sm3: string; sha256: string },
  verification: VerificationOutcome,
): Promise<UploadResult> {
  const m = verification.manifest!;
  const signer = verification.signer!;
  const stored: StoredArtifact = await storeArtifact(config().artifactStoreDir, received.sm3, {
    soTempPath: received.path,
    manifestBytes: input.manifestBytes,
    signatureBytes: input.signatureBytes,
  });
  const reportId = randomUUID();
  const versionId = randomUUID();
  const parsed = semver.parse(m.version)!;
  try {
    await db.$transaction(async (tx) => {
      await tx.module.upsert({ where: { name: m.module }, create: { name: m.module, class: m.class }, update: { class: m.class } });
      await keepArtifactBytes(tx, received.sm3, { soPath: stored.paths.so, manifestBytes: input.manifestBytes, signatureBytes: input.signatureBytes });
      await tx.verificationReport.create({
        data: {
          id: reportId,
          outcome: 'accepted',
          moduleName: m.module,
          version: m.version,
          fileName: input.fileNames.so,
          message: verification.message,
          checks: JSON.stringify(verification.checks),
          actorId: actor.id,
        },
      });
      const createdAt = new Date();
      await tx.moduleVersion.create({
        data: {
          id: versionId,
          moduleName: m.module,
          version: m.version,
          major: parsed.major,
          minor: parsed.minor,
          patch: parsed.patch,
          status: 'accepted',
          size: received.size,
          sm3: received.sm3,
          sha256: received.sha256,
          storePath: stored.paths.so,
          manifestText: Buffer.from(input.manifestBytes).toString('utf8'),
          signatureHex: Buffer.from(input.signatureBytes).toString('hex'),
          signerId: signer.id,
          goRuntime: Boolean(verification.elf?.goBuildInfo),
          reportId,
          uploadedBy: actor.id,
          createdAt,
        },
      });
      await appendAuditEvent(tx, {
        actor,
        action: 'artifact.accepted',
        targetType: 'module-version',
        targetId: `${m.module}@${m.version}`,
        details: {
          reportId,
          class: m.class,
          size: received.size,
          sm3: received.sm3,
          sha256: received.sha256,
          signerDn: signer.subjectDn,
          signerFingerprint: signer.fingerprint,
          operator: actor.name,
          operatorFingerprint: actor.keyFingerprint ?? null,
          effectiveTime: createdAt.toISOString(),
        },
      });
    });
  } catch (error) {
    await removeStoredArtifact(stored);
    // Another console replica sharing this database won the race: same answer as the in-process check above.
    if (isUniqueViolation(error)) {
      const taken = await registryClash(db, m.module, m.version, received.sm3);
      if (taken) return recordConflict(db, actor, input, verification, taken);
    }
    throw error;
  }
  return { outcome: 'accepted', reportId, versionId, module: m.module, version: m.version, message: verification.message, checks: verification.checks };
}
