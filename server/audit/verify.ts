import type { Db } from '../db/client';
import { parsePublicKey, type ParsedPublicKey } from '../crypto/keys';
import type { AuditEventRow } from './chain';
import { readCheckpointLines } from './checkpoint-file';
import { checkpointRecordSummary } from './checkpoint-record';
import { verifyTrail, type AuditVerification } from './trail-verifier';

export type { AuditVerification } from './trail-verifier';

export const AUDIT_PAGE_SIZE = 5000;

/**
 * The events in ascending seq order, a page at a time: keyset pagination on the seq primary key (findMany
 * with seq > last, take 5000), so each page is an index range scan and memory stays flat at any trail length.
 */
export async function* auditEventPages(
  db: Db,
  options: { afterSeq?: number; throughSeq?: number; pageSize?: number } = {},
): AsyncGenerator<AuditEventRow[]> {
  const pageSize = options.pageSize ?? AUDIT_PAGE_SIZE;
  let after = options.afterSeq;
  for (;;) {
    const seq = {
      ...(after === undefined ? {} : { gt: after }),
      ...(options.throughSeq === undefined ? {} : { lte: options.throughSeq }),
    };
    const page = await db.auditEvent.findMany({ where: { seq }, orderBy: { seq: 'asc' }, take: pageSize });
    if (page.length === 0) return;
    yield page;
    if (page.length < pageSize) return;
    after = page[page.length - 1].seq;
  }
}

export interface VerifyAuditTrailOptions {
  checkpointFile: string;
  /** The console's public key (PEM or hex 04‖x‖y), ideally obtained independently of the machine verified. */
  publicKey: string | ParsedPublicKey;
  maxProblems?: number;
  pageSize?: number;
}

/**
 * Verifies the audit trail in the database against the signed checkpoints file, and the file's coverage against
 * the database's record of the checkpoints written. Never throws for tampering; reports it.
 */
export async function verifyAuditTrail(db: Db, options: VerifyAuditTrailOptions): Promise<AuditVerification> {
  const publicKey = typeof options.publicKey === 'string' ? parsePublicKey(options.publicKey) : options.publicKey;
  // The record first: a line is appended (and fsync'd) before it is recorded, so the file read after holds it.
  const recorded = await checkpointRecordSummary(db);
  return verifyTrail(auditEventPages(db, { pageSize: options.pageSize }), {
    checkpointLines: await readCheckpointLines(options.checkpointFile),
    publicKey,
    recorded,
    maxProblems: options.maxProblems,
  });
}
