// What the database remembers of the checkpoints file: one row per checkpoint written. Whoever empties or cuts
// the file (to have a rewritten chain re-signed, or to hide what was vouched for) leaves these rows behind, and
// verification holds the file's coverage against them.
import type { Db } from '../db/client';
import type { AuditCheckpoint } from './checkpoint-format';
import { checkpointAlgorithm } from './checkpoint-format';

export interface CheckpointRecordSummary {
  /** Checkpoints the console recorded writing. */
  count: number;
  /** The last event the last of them covers (0 when none). */
  throughSeq: number;
  lastTime: string | null;
}

export async function recordCheckpoint(db: Db, checkpoint: AuditCheckpoint, lineHash: string, line: string): Promise<void> {
  await db.auditCheckpointRecord.create({
    data: {
      seq: checkpoint.seq,
      lineHash,
      time: checkpoint.time,
      keyFingerprint: checkpoint.publicKeyFingerprint,
      algorithm: checkpointAlgorithm(checkpoint),
      line,
    },
  });
}

export async function checkpointRecordSummary(db: Db): Promise<CheckpointRecordSummary> {
  const [count, last] = await Promise.all([
    db.auditCheckpointRecord.count(),
    db.auditCheckpointRecord.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true, time: true } }),
  ]);
  return { count, throughSeq: last?.seq ?? 0, lastTime: last?.time ?? null };
}
