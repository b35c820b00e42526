// An export is everything an auditor needs to verify the trail on another machine without Hotplane's
// database: the events as canonical JSON lines, the checkpoints file and the console's public key.
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Db } from '../db/client';
import { parsePublicKey, type ParsedPublicKey } from '../crypto/keys';
import { AUDIT_EVENT_FORMAT, readEventRow, type AuditEventRow } from './chain';
import { canonicalJson } from './canonical-json';
import { readCheckpointLines } from './checkpoint-file';
import { CHECKPOINT_FORMAT } from './checkpoint-format';
import { verifyTrail, type AuditVerification, type TrailItem } from './trail-verifier';
import { auditEventPages } from './verify';

export const AUDIT_EXPORT_FORMAT = 'hotplane.audit-export/v1';
export const AUDIT_EXPORT_FILES = {
  events: 'audit-events.jsonl',
  checkpoints: 'audit-checkpoints.jsonl',
  publicKey: 'console-public-key.pem',
  manifest: 'manifest.json',
  readme: 'README.txt',
} as const;

export interface AuditExportManifest {
  format: typeof AUDIT_EXPORT_FORMAT;
  eventFormat: typeof AUDIT_EVENT_FORMAT;
  checkpointFormat: typeof CHECKPOINT_FORMAT;
  exportedAt: string;
  eventCount: number;
  headSeq: number;
  headHash: string | null;
  /** null when the console had no checkpoints file to copy. */
  checkpointLines: number | null;
  consolePublicKeyFingerprint: string;
  files: typeof AUDIT_EXPORT_FILES;
}

const README = `Hotplane audit trail export (${AUDIT_EXPORT_FORMAT})

${AUDIT_EXPORT_FILES.events}       one event per line: canonical JSON (RFC 8785) of its fields and its hash
${AUDIT_EXPORT_FILES.checkpoints}  the console's signed checkpoints, copied line for line
${AUDIT_EXPORT_FILES.publicKey}   the console's SM2 public key; compare its fingerprint (manifest.json)
                          with the one you recorded independently before trusting this export
${AUDIT_EXPORT_FILES.manifest}            counts, head of the chain, key fingerprint

Verify with Hotplane:   hotplane audit verify-export <this directory> [--public-key <pem>]
Verify by hand: for each line, remove "hash", hash the rest (already canonical) with SM3, compare, and
check that prevHash equals the previous line's hash (64 zeros for seq 1). docs/audit.md in the Hotplane
sources gives the exact encoding, the checkpoint format and openssl/jq commands for each step.
`;

/** One export line: the event's canonical JSON with its hash. Unreadable stored fields are kept as their raw text. */
export function exportLineOf(row: AuditEventRow): string {
  const read = readEventRow(row);
  if (read.ok) return canonicalJson({ ...read.content, hash: row.hash });
  const { seq, time, actorId, actorName, actorRoles, actorKeyFp, action, targetType, targetId, details, prevHash, hash } = row;
  return canonicalJson({ seq, time, actorId, actorName, actorRoles, actorKeyFp, action, targetType, targetId, details, prevHash, hash });
}

const STRING_FIELDS = ['time', 'actorId', 'actorName', 'actorKeyFp', 'action', 'targetType', 'targetId', 'prevHash', 'hash'] as const;

/** The stored row an export line stands for: the inverse of exportLineOf. */
export function rowOfExportLine(text: string): TrailItem {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text);
  } catch {
    return { unreadable: 'the line is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { unreadable: 'the line is not a JSON object' };
  if (!Number.isSafeInteger(value.seq)) return { unreadable: 'seq is not an integer' };
  for (const field of STRING_FIELDS) {
    if (typeof value[field] !== 'string') return { unreadable: `${field} is not a string` };
  }
  if (value.actorRoles === undefined || value.details === undefined) return { unreadable: 'actorRoles or details is absent' };
  const storedText = (field: unknown) => (typeof field === 'string' ? field : canonicalJson(field));
  return { ...(value as unknown as AuditEventRow), actorRoles: storedText(value.actorRoles), details: storedText(value.details) };
}

async function createExclusive(file: string) {
  try {
    return await open(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(`${file} already exists: export into a new or empty directory`);
    }
    throw error;
  }
}

// Only whole lines: the console may be appending while the file is copied.
async function copyCheckpoints(checkpointFile: string, target: string): Promise<number | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(checkpointFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const complete = bytes.subarray(0, bytes.lastIndexOf(0x0a) + 1);
  const handle = await createExclusive(target);
  try {
    await handle.write(complete);
  } finally {
    await handle.close();
  }
  return complete.toString('utf8').split('\n').length - 1;
}

export interface ExportAuditTrailOptions {
  checkpointFile: string;
  publicKey: string | ParsedPublicKey;
}

/** Writes an export into `outDir` (created if needed; existing export files are never overwritten). */
export async function exportAuditTrail(db: Db, outDir: string, options: ExportAuditTrailOptions): Promise<AuditExportManifest> {
  const publicKey = typeof options.publicKey === 'string' ? parsePublicKey(options.publicKey) : options.publicKey;
  await mkdir(outDir, { recursive: true });
  const file = (name: string) => path.join(outDir, name);
  // Checkpoints first, then the head: every copied checkpoint then covers events that the export contains.
  const checkpointLines = await copyCheckpoints(options.checkpointFile, file(AUDIT_EXPORT_FILES.checkpoints));
  const head = await db.auditEvent.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true, hash: true } });
  let eventCount = 0;
  const events = await createExclusive(file(AUDIT_EXPORT_FILES.events));
  try {
    if (head) {
      for await (const page of auditEventPages(db, { throughSeq: head.seq })) {
        await events.write(page.map((row) => `${exportLineOf(row)}\n`).join(''));
        eventCount += page.length;
      }
    }
  } finally {
    await events.close();
  }
  const manifest: AuditExportManifest = {
    format: AUDIT_EXPORT_FORMAT,
    eventFormat: AUDIT_EVENT_FORMAT,
    checkpointFormat: CHECKPOINT_FORMAT,
    exportedAt: new Date().toISOString(),
    eventCount,
    headSeq: head?.seq ?? 0,
    headHash: head?.hash ?? null,
    checkpointLines,
    consolePublicKeyFingerprint: publicKey.fingerprint,
    files: AUDIT_EXPORT_FILES,
  };
  await writeFile(file(AUDIT_EXPORT_FILES.publicKey), publicKey.pem, { flag: 'wx' });
  await writeFile(file(AUDIT_EXPORT_FILES.readme), README, { flag: 'wx' });
  await writeFile(file(AUDIT_EXPORT_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`, { flag: 'wx' });
  return manifest;
}

async function* exportedEventPages(eventsFile: string, pageSize = 5000): AsyncGenerator<TrailItem[]> {
  const reader = createInterface({ input: createReadStream(eventsFile, 'utf8'), crlfDelay: Infinity });
  let page: TrailItem[] = [];
  for await (const line of reader) {
    page.push(rowOfExportLine(line));
    if (page.length === pageSize) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

export interface VerifyExportOptions {
  /** The console key the auditor trusts; defaults to the one in the export (then compare its fingerprint). */
  publicKey?: string;
  maxProblems?: number;
}

/** Verifies an export offline with the same procedure as the live trail. */
export async function verifyExportedTrail(
  dir: string,
  options: VerifyExportOptions = {},
): Promise<AuditVerification & { manifest: AuditExportManifest }> {
  const file = (name: string) => path.join(dir, name);
  const manifest = JSON.parse(await readFile(file(AUDIT_EXPORT_FILES.manifest), 'utf8')) as AuditExportManifest;
  if (manifest.format !== AUDIT_EXPORT_FORMAT) throw new Error(`${dir} holds a ${String(manifest.format)} export; this verifier reads ${AUDIT_EXPORT_FORMAT}`);
  const publicKey = parsePublicKey(options.publicKey ?? (await readFile(file(AUDIT_EXPORT_FILES.publicKey), 'utf8')));
  const result = await verifyTrail(exportedEventPages(file(AUDIT_EXPORT_FILES.events)), {
    checkpointLines: await readCheckpointLines(file(AUDIT_EXPORT_FILES.checkpoints)),
    publicKey,
    maxProblems: options.maxProblems,
    expectedHead: { seq: manifest.headSeq, source: `the export's ${AUDIT_EXPORT_FILES.manifest}` },
  });
  return { ...result, manifest };
}
