import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { config } from '../config';
import type { Db } from '../db/client';
import { appendAuditEvent } from './append';
import type { AuditActor } from './actor';
import { createAuditCheckpointer, type AuditCheckpointer } from './checkpoints';
import { exportAuditTrail } from './export';
import { applyAuditRetention } from './retention';
import { consoleSigner } from './signing/console-signer';
import { resolveTrustAnchor, type TrustAnchor, type TrustAnchorOptions } from './trust-anchor';
import { verifyAuditTrail, type AuditVerification } from './verify';

// The audit trail as this console runs it: its checkpoints file, its signer, one checkpointer per process.

export function consoleAuditPublicKey() {
  return consoleSigner().publicKey;
}

/** What the console shows about its key: the fingerprint, and whether the key is a file (a banner then says so). */
export function consoleAuditKeyStatus() {
  const signer = consoleSigner();
  return { fingerprint: signer.fingerprint, pem: signer.publicKey.pem, algorithm: signer.algorithm, custody: signer.custody, description: signer.description };
}

// For `hotplane audit verify`: an auditor brings the key (or its fingerprint) and may bring their own copy of the checkpoints.
export async function verifyConsoleTrail(
  db: Db,
  options: TrustAnchorOptions & { checkpointFile?: string } = {},
): Promise<AuditVerification & { anchor: TrustAnchor }> {
  const anchor = resolveTrustAnchor(options);
  const result = await verifyAuditTrail(db, { checkpointFile: options.checkpointFile ?? config().checkpointFile, publicKey: anchor.key });
  return { ...result, anchor };
}

// The verification itself is an auditable act: who checked, and what they found.
export async function verifyAndRecord(db: Db, actor: AuditActor): Promise<AuditVerification> {
  const result = await verifyAuditTrail(db, { checkpointFile: config().checkpointFile, publicKey: consoleAuditPublicKey() });
  await db.$transaction((tx) =>
    appendAuditEvent(tx, {
      actor,
      action: 'audit.verified',
      targetType: 'audit-trail',
      targetId: 'console',
      details: {
        ok: result.ok,
        eventsChecked: result.eventsChecked,
        checkpointsTrusted: result.checkpointsTrusted,
        checkpointedThroughSeq: result.checkpointedThroughSeq,
        uncoveredFromSeq: result.uncoveredFromSeq,
        firstBadSeq: result.firstBadSeq,
        headSeq: result.headSeq,
        problems: result.problems.slice(0, 5).map((p) => `${p.kind}@${p.seq}`),
      },
    }),
  );
  return result;
}

export async function exportConsoleTrail(db: Db, actor: AuditActor, outDir?: string) {
  const dir = outDir ?? (await mkdtemp(path.join(os.tmpdir(), 'hotplane-audit-export-')));
  const manifest = await exportAuditTrail(db, dir, { checkpointFile: config().checkpointFile, signer: consoleSigner() });
  await db.$transaction((tx) =>
    appendAuditEvent(tx, {
      actor,
      action: 'audit.exported',
      targetType: 'audit-trail',
      targetId: 'console',
      details: { eventCount: manifest.eventCount, headSeq: manifest.headSeq, headHash: manifest.headHash, signerFingerprint: manifest.signer.fingerprint },
    }),
  );
  return { dir, manifest };
}

const holder = globalThis as unknown as { hotplaneCheckpointer?: AuditCheckpointer };

export async function startConsoleCheckpointer(db: Db): Promise<AuditCheckpointer> {
  if (!holder.hotplaneCheckpointer) {
    await applyAuditRetention(db, config().auditRetentionDays);
    holder.hotplaneCheckpointer = createAuditCheckpointer();
    await holder.hotplaneCheckpointer.start(db);
  }
  return holder.hotplaneCheckpointer;
}
