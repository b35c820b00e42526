// An export is everything an auditor needs to verify the trail on another machine without Hotplane's
// database: the events as canonical JSON lines, the checkpoints file and the console's public key, listed
// with their SHA-256 and SM3 in a manifest the console signs. The auditor verifies against a key (or its
// fingerprint) recorded independently: the key inside the export proves nothing by itself.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Db } from '../db/client';
import { sm3Hex } from '../crypto/digest';
import { bytesToHex, hexToBytes, isHex } from '../crypto/hex';
import { parsePublicKey, type KeyAlgorithm, type ParsedPublicKey } from '../crypto/keys';
import { verifySignature } from '../crypto/signatures';
import { AUDIT_EVENT_FORMAT, readEventRow, type AuditEventRow } from './chain';
import { canonicalJson } from './canonical-json';
import { readCheckpointLines } from './checkpoint-file';
import { CHECKPOINT_FORMAT } from './checkpoint-format';
import { checkpointRecordSummary, type CheckpointRecordSummary } from './checkpoint-record';
import type { AuditProblem } from './problems';
import type { AuditSigner, KeyCustody } from './signing/signer';
import { normaliseFingerprint } from './trust-anchor';
import { verifyTrail, type AuditVerification, type TrailItem } from './trail-verifier';
import { auditEventPages } from './verify';

export const AUDIT_EXPORT_FORMAT = 'hotplane.audit-export/v2';
/** Unsigned exports written before v2: still read, reported as unsigned. */
const UNSIGNED_EXPORT_FORMAT = 'hotplane.audit-export/v1';
export const AUDIT_EXPORT_FILES = {
  events: 'audit-events.jsonl',
  checkpoints: 'audit-checkpoints.jsonl',
  publicKey: 'console-public-key.pem',
  manifest: 'manifest.json',
  signature: 'manifest.sig',
  readme: 'README.txt',
} as const;

/** The files the manifest lists with their digests (all but the manifest and its signature). */
const DIGESTED_FILES = [AUDIT_EXPORT_FILES.events, AUDIT_EXPORT_FILES.checkpoints, AUDIT_EXPORT_FILES.publicKey, AUDIT_EXPORT_FILES.readme];

export interface FileDigest {
  bytes: number;
  sha256: string;
  sm3: string;
}

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
  /** The console's signer; manifest.sig is its signature (hex) over the exact bytes of manifest.json. */
  signer: { algorithm: KeyAlgorithm; fingerprint: string; custody: KeyCustody };
  /** Each file of the export (absent ones omitted): a changed byte anywhere fails verification. */
  digests: Record<string, FileDigest>;
  /** The console's record of the checkpoints written: the copied file must cover at least this much. */
  checkpointRecord: CheckpointRecordSummary;
}

const README = `Hotplane audit trail export (${AUDIT_EXPORT_FORMAT})

${AUDIT_EXPORT_FILES.events}       one event per line: canonical JSON (RFC 8785) of its fields and its hash
${AUDIT_EXPORT_FILES.checkpoints}  the console's signed checkpoints, copied line for line
${AUDIT_EXPORT_FILES.publicKey}   the console's public key (P-256 or SM2); compare its fingerprint (manifest.json)
                          with the one you recorded independently before trusting this export
${AUDIT_EXPORT_FILES.manifest}            counts, head of the chain, key fingerprint, SHA-256 and SM3 of each file
${AUDIT_EXPORT_FILES.signature}             the console's signature (hex) over the exact bytes of ${AUDIT_EXPORT_FILES.manifest}

Verify with Hotplane:   hotplane audit verify-export <this directory> --public-key <pem> | --fingerprint <hex>
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
  signer: AuditSigner;
}

async function digestOf(file: string): Promise<FileDigest | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), sm3: sm3Hex(bytes) };
}

/** Writes an export into `outDir` (created if needed; existing export files are never overwritten). */
export async function exportAuditTrail(db: Db, outDir: string, options: ExportAuditTrailOptions): Promise<AuditExportManifest> {
  const { signer } = options;
  const publicKey = signer.publicKey;
  await mkdir(outDir, { recursive: true });
  const file = (name: string) => path.join(outDir, name);
  // The record, then the checkpoints, then the head: each covers no more than what follows it holds.
  const checkpointRecord = await checkpointRecordSummary(db);
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
  await writeFile(file(AUDIT_EXPORT_FILES.publicKey), publicKey.pem, { flag: 'wx' });
  await writeFile(file(AUDIT_EXPORT_FILES.readme), README, { flag: 'wx' });
  const digests: Record<string, FileDigest> = {};
  for (const name of DIGESTED_FILES) {
    const digest = await digestOf(file(name));
    if (digest) digests[name] = digest;
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
    signer: { algorithm: signer.algorithm, fingerprint: signer.fingerprint, custody: signer.custody },
    digests,
    checkpointRecord,
  };
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  await writeFile(file(AUDIT_EXPORT_FILES.manifest), manifestText, { flag: 'wx' });
  await writeFile(file(AUDIT_EXPORT_FILES.signature), `${bytesToHex(signer.sign(Buffer.from(manifestText)))}\n`, { flag: 'wx' });
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
  /** The console key the auditor trusts (PEM or hex), obtained independently of the export. */
  publicKey?: string;
  /** Or its pinned fingerprint (SM3 hex): the export's own key must have it. */
  fingerprint?: string;
  maxProblems?: number;
}

export interface ExportVerification extends AuditVerification {
  manifest: AuditExportManifest;
  /** How the key was established: given, pinned by fingerprint, or taken from the export itself (unanchored). */
  anchor: 'public-key' | 'fingerprint' | 'unanchored';
}

async function readOptional(file: string): Promise<Buffer | null> {
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
}

function exportProblem(kind: AuditProblem['kind'], message: string): AuditProblem {
  return { kind, seq: null, message };
}

// The manifest's signature first, then every file against the manifest's digests.
async function checkExportIntegrity(dir: string, manifestBytes: Buffer, manifest: AuditExportManifest, key: ParsedPublicKey): Promise<AuditProblem[]> {
  const file = (name: string) => path.join(dir, name);
  if ((manifest.format as string) === UNSIGNED_EXPORT_FORMAT) {
    return [exportProblem('export-signature', `this is an unsigned ${UNSIGNED_EXPORT_FORMAT} export: nothing vouches for its manifest; export again with a current console`)];
  }
  const problems: AuditProblem[] = [];
  const signatureText = await readOptional(file(AUDIT_EXPORT_FILES.signature));
  if (!signatureText) {
    problems.push(exportProblem('export-signature', `${AUDIT_EXPORT_FILES.signature} is missing: the manifest is not signed`));
  } else {
    const hex = signatureText.toString('utf8').trim();
    const verdict =
      isHex(hex) && hex.length % 2 === 0
        ? verifySignature({ message: manifestBytes, signature: hexToBytes(hex), key })
        : { ok: false as const, message: 'it is not hex' };
    if (!verdict.ok) {
      problems.push(
        exportProblem('export-signature', `${AUDIT_EXPORT_FILES.signature} is not a valid signature of ${AUDIT_EXPORT_FILES.manifest} by the trusted key ${key.fingerprint.slice(0, 16)}…: ${verdict.message}`),
      );
    }
  }
  for (const name of DIGESTED_FILES) {
    const listed = manifest.digests?.[name];
    const actual = await digestOf(file(name));
    if (!listed && !actual) continue;
    if (!listed || !actual || listed.sha256 !== actual.sha256 || listed.sm3 !== actual.sm3 || listed.bytes !== actual.bytes) {
      problems.push(
        exportProblem(
          'export-digest',
          !actual
            ? `${name} is listed in the manifest but missing from the export`
            : !listed
              ? `${name} is in the export but not listed in the signed manifest`
              : `${name} does not match the SHA-256/SM3 the signed manifest lists for it: the file was changed after the export`,
        ),
      );
    }
  }
  return problems;
}

function anchorKey(exportKeyText: string | null, options: VerifyExportOptions): { key: ParsedPublicKey; anchor: ExportVerification['anchor'] } {
  if (options.publicKey) {
    const key = parsePublicKey(options.publicKey);
    if (options.fingerprint && normaliseFingerprint(options.fingerprint) !== key.fingerprint) {
      throw new Error(`the key given has fingerprint ${key.fingerprint}, not the pinned ${normaliseFingerprint(options.fingerprint)}`);
    }
    return { key, anchor: 'public-key' };
  }
  if (!exportKeyText) throw new Error(`the export has no ${AUDIT_EXPORT_FILES.publicKey}; give the console key with --public-key`);
  const key = parsePublicKey(exportKeyText);
  if (options.fingerprint) {
    const pinned = normaliseFingerprint(options.fingerprint);
    if (pinned !== key.fingerprint) {
      throw new ExportKeyMismatchError(
        `the export's key has fingerprint ${key.fingerprint}, not the pinned ${pinned}: it was signed by another key than the console you trust`,
      );
    }
    return { key, anchor: 'fingerprint' };
  }
  return { key, anchor: 'unanchored' };
}

/** The export names a key other than the one the auditor pinned: nothing in it can be trusted. */
export class ExportKeyMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportKeyMismatchError';
  }
}

/** Verifies an export offline with the same procedure as the live trail, after its signed manifest. */
export async function verifyExportedTrail(dir: string, options: VerifyExportOptions = {}): Promise<ExportVerification> {
  const file = (name: string) => path.join(dir, name);
  const manifestBytes = await readFile(file(AUDIT_EXPORT_FILES.manifest));
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as AuditExportManifest;
  const format: string = manifest.format;
  if (format !== AUDIT_EXPORT_FORMAT && format !== UNSIGNED_EXPORT_FORMAT) {
    throw new Error(`${dir} holds a ${String(manifest.format)} export; this verifier reads ${AUDIT_EXPORT_FORMAT}`);
  }
  const exportKeyText = (await readOptional(file(AUDIT_EXPORT_FILES.publicKey)))?.toString('utf8') ?? null;
  const { key, anchor } = anchorKey(exportKeyText, options);
  const integrity = await checkExportIntegrity(dir, manifestBytes, manifest, key);
  const result = await verifyTrail(exportedEventPages(file(AUDIT_EXPORT_FILES.events)), {
    checkpointLines: await readCheckpointLines(file(AUDIT_EXPORT_FILES.checkpoints)),
    publicKey: key,
    // Only a signed manifest's record counts: an unsigned one could say anything.
    recorded: integrity.length === 0 ? manifest.checkpointRecord : undefined,
    preliminaryProblems: integrity,
    maxProblems: options.maxProblems,
    expectedHead: { seq: manifest.headSeq, source: `the export's ${AUDIT_EXPORT_FILES.manifest}` },
  });
  return { ...result, manifest, anchor };
}
