import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { config } from '../config';
import type { Db } from '../db/client';
import { appendAuditEvent } from './append';
import type { AuditActor } from './actor';
import { createAuditCheckpointer, type AuditCheckpointer } from './checkpoints';
import { loadOrCreateConsoleKey, readConsolePublicKey } from './console-key';
import { exportAuditTrail } from './export';
import { verifyAuditTrail, type AuditVerification } from './verify';

// The audit trail as this console runs it: its checkpoints file, its own key, one checkpointer per process.

export function consoleAuditPublicKey() {
  return loadOrCreateConsoleKey(config().consoleKeyFile).publicKey;
}

// For `hotplane audit verify`: an auditor may bring the key and the checkpoints from their own copies.
export async function verifyConsoleTrail(db: Db, options: { publicKeyText?: string; checkpointFile?: string } = {}): Promise<AuditVerification> {
  return verifyAuditTrail(db, {
    checkpointFile: options.checkpointFile ?? config().checkpointFile,
    publicKey: options.publicKeyText ?? readConsolePublicKey(config().consoleKeyFile),
  });
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
  const manifest = await exportAuditTrail(db, dir, { checkpointFile: config().checkpointFile, publicKey: consoleAuditPublicKey() });
  await db.$transaction((tx) =>
    appendAuditEvent(tx, {
      actor,
      action: 'audit.exported',
      targetType: 'audit-trail',
      targetId: 'console',
      details: { eventCount: manifest.eventCount, headSeq: manifest.headSeq, headHash: manifest.headHash },
    }),
  );
  return { dir, manifest };
}

const holder = globalThis as unknown as { hotplaneCheckpointer?: AuditCheckpointer };

export async function startConsoleCheckpointer(db: Db): Promise<AuditCheckpointer> {
  if (!holder.hotplaneCheckpointer) {
    holder.hotplaneCheckpointer = createAuditCheckpointer();
    await holder.hotplaneCheckpointer.start(db);
  }
  return holder.hotplaneCheckpointer;
}
