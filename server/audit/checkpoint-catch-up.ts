import type { ParsedPublicKey } from '../crypto/keys';
import { sm3Hex } from '../crypto/digest';
import type { Db } from '../db/client';
import { appendCheckpointLine, readCheckpointFileTail, readCheckpointLines } from './checkpoint-file';
import { authenticateCheckpoints, GENESIS_CHECKPOINT_HASH, parseCheckpointLine } from './checkpoint-format';

// Several replicas, each with its own checkpoints file, and one leader signing at a time: every checkpoint line is
// also kept in the database (AuditCheckpointRecord.line). A replica that becomes the leader first appends the lines
// its file lacks, so its next checkpoint links to the last one signed by any replica and every file is one chain.
// A line is appended only if its hash is the recorded one, it links to the file's last line and its signature is
// the console's: a line forged in the database is never built upon.

/** Appends the recorded lines the file lacks (none when it is up to date); throws an Error naming the fault. */
export async function appendRecordedCheckpoints(
  db: Db,
  file: string,
  trustedKeys: ParsedPublicKey[],
  seen: { lastLineHash: string | undefined; createdFile: boolean },
): Promise<void> {
  const tail = await readCheckpointFileTail(file);
  const last = tail?.lastLine ? parseCheckpointLine(tail.lastLine) : null;
  // A malformed last line, a file that changed behind this process, or an emptied file (one this process did not
  // create empty) are the checkpointer's refusals to make, with the evidence left as it is.
  if (last && !last.ok) return;
  const lastLineHash = tail?.lastLine ? sm3Hex(tail.lastLine) : GENESIS_CHECKPOINT_HASH;
  if (seen.lastLineHash !== undefined && lastLineHash !== seen.lastLineHash) return;
  if (!tail?.lastLine && !seen.createdFile) return;
  const fileSeq = last?.checkpoint.seq ?? 0;
  const missing = await db.auditCheckpointRecord.findMany({ where: { seq: { gt: fileSeq } }, orderBy: { seq: 'asc' } });
  // Records from before lines were kept cannot be caught up: the checkpointer refuses, naming the missing lines.
  if (missing.length === 0 || missing.some((record) => record.line === null)) return;
  const existing = (await readCheckpointLines(file)) ?? [];
  const added = missing.map((record, i) => ({ lineNumber: existing.length + i + 1, text: record.line! }));
  const forged = missing.find((record) => sm3Hex(record.line!) !== record.lineHash);
  if (forged) throw new Error(`the database's checkpoint line for seq ${forged.seq} does not have its recorded hash: nothing was appended; run hotplane audit verify`);
  const { trusted, problems } = authenticateCheckpoints([...existing, ...added], trustedKeys);
  const trustedLines = new Set(trusted.map((t) => t.lineNumber));
  const untrusted = added.find((line) => !trustedLines.has(line.lineNumber));
  if (problems.length > 0 || untrusted) {
    throw new Error(
      `the checkpoints other replicas recorded do not continue ${file}${untrusted ? ` (line for seq ${missing[untrusted.lineNumber - existing.length - 1].seq} is not linked or not signed by this console)` : ''}: nothing was appended; run hotplane audit verify`,
    );
  }
  let torn = tail?.tornTail ?? false;
  for (const line of added) {
    await appendCheckpointLine(file, line.text, torn);
    torn = false;
  }
}
