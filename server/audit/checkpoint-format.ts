// One line of the checkpoints file: the console's signature over the chain's head and over a short prefix
// of every event hash since the previous checkpoint. The lines chain to each other by SM3, so one valid
// signature vouches for every line before it, whichever key signed those (an SM2 file key before the move
// to a PKCS#11 token, ECDSA P-256 on the token after it).
import { sm3Hex } from '../crypto/digest';
import { bytesToHex, hexToBytes } from '../crypto/hex';
import type { KeyAlgorithm, ParsedPublicKey } from '../crypto/keys';
import { verifySignature } from '../crypto/signatures';
import { isAuditHash } from './chain';
import { canonicalJson } from './canonical-json';
import type { AuditProblem } from './problems';
import type { AuditSigner } from './signing/signer';

export const CHECKPOINT_FORMAT = 'hotplane.audit-checkpoint/v1';
/** 64 bits of each event hash: enough to name the first rewritten event; detection itself rests on the full headHash. */
export const EVENT_HASH_PREFIX_LENGTH = 16;
export const GENESIS_CHECKPOINT_HASH = '0'.repeat(64);

export interface AuditCheckpoint {
  format: typeof CHECKPOINT_FORMAT;
  /** The last event this checkpoint covers. */
  seq: number;
  /** Full hash of event `seq`. */
  headHash: string;
  time: string;
  /** Hash prefixes of events seq − eventHashes.length + 1 … seq, in order. */
  eventHashes: string[];
  /** SM3 of the previous line's text (without its newline); 64 zeros for the first line. */
  prevCheckpointHash: string;
  publicKeyFingerprint: string;
  /** The signature algorithm; absent on lines written before it was recorded, which are all SM2. */
  algorithm?: KeyAlgorithm;
  /** Hex signature (SM2 DER, or ECDSA P-256 r‖s) over the canonical JSON of every other field. */
  signature: string;
}

export type UnsignedCheckpoint = Omit<AuditCheckpoint, 'signature'>;

export interface CheckpointLine {
  /** 1-based. */
  lineNumber: number;
  text: string;
}

export function eventHashPrefix(hash: string): string {
  return hash.slice(0, EVENT_HASH_PREFIX_LENGTH);
}

export function checkpointSigningBytes(checkpoint: UnsignedCheckpoint): Uint8Array {
  const { format, seq, headHash, time, eventHashes, prevCheckpointHash, publicKeyFingerprint, algorithm } = checkpoint;
  const fields = { format, seq, headHash, time, eventHashes, prevCheckpointHash, publicKeyFingerprint };
  return new TextEncoder().encode(canonicalJson(algorithm === undefined ? fields : { ...fields, algorithm }));
}

export const checkpointAlgorithm = (checkpoint: AuditCheckpoint): KeyAlgorithm => checkpoint.algorithm ?? 'sm2';

/** The exact text written to the file (one line, no newline): the canonical JSON of the signed checkpoint. */
export function signCheckpoint(checkpoint: UnsignedCheckpoint, signer: AuditSigner): { checkpoint: AuditCheckpoint; text: string } {
  const signature = bytesToHex(signer.sign(checkpointSigningBytes(checkpoint)));
  const signed: AuditCheckpoint = { ...checkpoint, signature };
  return { checkpoint: signed, text: canonicalJson(signed) };
}

export function checkpointLineHash(text: string): string {
  return sm3Hex(text);
}

const PREFIX_PATTERN = new RegExp(`^[0-9a-f]{${EVENT_HASH_PREFIX_LENGTH}}$`);
const SIGNATURE_PATTERN = /^([0-9a-f]{2})+$/;

export function parseCheckpointLine(text: string): { ok: true; checkpoint: AuditCheckpoint } | { ok: false; message: string } {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: 'not a JSON object' };
  if (value.format !== CHECKPOINT_FORMAT) return { ok: false, message: `format is ${JSON.stringify(value.format)}, expected ${CHECKPOINT_FORMAT}` };
  const { seq, headHash, time, eventHashes, prevCheckpointHash, publicKeyFingerprint, algorithm, signature } = value;
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) return { ok: false, message: 'seq is not a positive integer' };
  if (typeof headHash !== 'string' || !isAuditHash(headHash)) return { ok: false, message: 'headHash is not 64 hex digits' };
  if (typeof time !== 'string') return { ok: false, message: 'time is not a string' };
  if (!Array.isArray(eventHashes) || eventHashes.length === 0 || eventHashes.length > (seq as number)) {
    return { ok: false, message: 'eventHashes is not a non-empty list no longer than seq' };
  }
  if (!eventHashes.every((prefix) => typeof prefix === 'string' && PREFIX_PATTERN.test(prefix))) {
    return { ok: false, message: `eventHashes entries are not ${EVENT_HASH_PREFIX_LENGTH} hex digits each` };
  }
  if (eventHashes[eventHashes.length - 1] !== eventHashPrefix(headHash)) return { ok: false, message: 'the last eventHashes entry is not the prefix of headHash' };
  if (typeof prevCheckpointHash !== 'string' || !isAuditHash(prevCheckpointHash)) return { ok: false, message: 'prevCheckpointHash is not 64 hex digits' };
  if (typeof publicKeyFingerprint !== 'string') return { ok: false, message: 'publicKeyFingerprint is not a string' };
  if (algorithm !== undefined && typeof algorithm !== 'string') return { ok: false, message: 'algorithm is not a string' };
  if (typeof signature !== 'string' || !SIGNATURE_PATTERN.test(signature)) return { ok: false, message: 'signature is not hex' };
  return { ok: true, checkpoint: value as unknown as AuditCheckpoint };
}

/** A checkpoint whose authenticity is established: signed by the key, or chained to a later line that is. */
export interface TrustedCheckpoint {
  lineNumber: number;
  firstSeq: number;
  seq: number;
  headHash: string;
  eventHashes: string[];
}

export interface CheckpointAuthentication {
  trusted: TrustedCheckpoint[];
  linesChecked: number;
  problems: AuditProblem[];
}

interface ReadableLine {
  lineNumber: number;
  checkpoint: AuditCheckpoint;
}

function signatureIsValid(line: ReadableLine, keys: Map<string, ParsedPublicKey>): boolean {
  const key = keys.get(line.checkpoint.publicKeyFingerprint);
  if (!key || key.algorithm !== checkpointAlgorithm(line.checkpoint)) return false;
  return verifySignature({ message: checkpointSigningBytes(line.checkpoint), signature: hexToBytes(line.checkpoint.signature), key }).ok;
}

// Within a run of lines each linking to the one before, validity is a prefix property: a valid signature
// on line i covers lines before i through the hash links, whatever key signed them. So verifying the last
// line settles a clean run with one verification, and a binary search over the lines that name a trusted
// key finds where a tampered run stops being genuine.
function authenticateRun(run: ReadableLine[], keys: Map<string, ParsedPublicKey>, problems: AuditProblem[]): ReadableLine[] {
  const candidates = run.flatMap((line, index) => (keys.has(line.checkpoint.publicKeyFingerprint) ? [index] : []));
  let genuine = 0;
  if (candidates.length > 0 && signatureIsValid(run[candidates[candidates.length - 1]], keys)) {
    genuine = candidates[candidates.length - 1] + 1;
  } else {
    let low = 0;
    let high = candidates.length - 1;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (signatureIsValid(run[candidates[middle]], keys)) low = middle + 1;
      else high = middle;
    }
    genuine = low > 0 ? candidates[low - 1] + 1 : 0;
  }
  const trustedNames = [...keys.keys()].map((fingerprint) => `${fingerprint.slice(0, 16)}…`).join(', ');
  for (const line of run.slice(genuine)) {
    const named = line.checkpoint.publicKeyFingerprint;
    problems.push(
      keys.has(named)
        ? {
            kind: 'checkpoint-signature',
            seq: line.checkpoint.seq,
            checkpointLine: line.lineNumber,
            message: `checkpoint line ${line.lineNumber} (seq ${line.checkpoint.seq}) is not covered by a valid console signature: the line was forged or edited`,
          }
        : {
            kind: 'checkpoint-key',
            seq: line.checkpoint.seq,
            checkpointLine: line.lineNumber,
            message:
              `checkpoint line ${line.lineNumber} (seq ${line.checkpoint.seq}) names key ${named.slice(0, 16)}…, not the trusted console key ` +
              `(${trustedNames}), and no later line signed by that key vouches for it: the checkpoints were signed by another key`,
          },
    );
  }
  return run.slice(0, genuine);
}

/**
 * Checks every line's form, link and (through the links) signature against the trusted keys (the current
 * console key; older keys it replaced are vouched for by the links); returns the lines that can be trusted.
 */
export function authenticateCheckpoints(lines: CheckpointLine[], trustedKeys: ParsedPublicKey | ParsedPublicKey[]): CheckpointAuthentication {
  const keys = new Map((Array.isArray(trustedKeys) ? trustedKeys : [trustedKeys]).map((key) => [key.fingerprint, key]));
  const problems: AuditProblem[] = [];
  const genuine: ReadableLine[] = [];
  let run: ReadableLine[] = [];
  const closeRun = () => {
    if (run.length > 0) genuine.push(...authenticateRun(run, keys, problems));
    run = [];
  };
  let expectedPrev = GENESIS_CHECKPOINT_HASH;
  for (const line of lines) {
    const linkTo = expectedPrev;
    expectedPrev = checkpointLineHash(line.text);
    const parsed = parseCheckpointLine(line.text);
    if (!parsed.ok) {
      problems.push({ kind: 'checkpoint-malformed', seq: null, checkpointLine: line.lineNumber, message: `checkpoint line ${line.lineNumber}: ${parsed.message}` });
      closeRun();
      continue;
    }
    const { checkpoint } = parsed;
    if (checkpoint.prevCheckpointHash !== linkTo) {
      problems.push({
        kind: 'checkpoint-chain',
        seq: checkpoint.seq,
        checkpointLine: line.lineNumber,
        message:
          line.lineNumber === 1
            ? 'the first checkpoint line does not start the chain: lines before it were removed'
            : `checkpoint line ${line.lineNumber} does not link to line ${line.lineNumber - 1}: lines between them were removed, inserted or edited`,
      });
      closeRun();
    }
    run.push({ lineNumber: line.lineNumber, checkpoint });
  }
  closeRun();
  return { trusted: orderTrusted(genuine, problems), linesChecked: lines.length, problems };
}

// Genuine lines normally cover consecutive ranges; one that overlaps an earlier range (a replayed line, or
// two processes checkpointing at once) cannot be placed and is left out of the comparison with the events.
function orderTrusted(genuine: ReadableLine[], problems: AuditProblem[]): TrustedCheckpoint[] {
  const trusted: TrustedCheckpoint[] = [];
  for (const { lineNumber, checkpoint } of genuine) {
    const firstSeq = checkpoint.seq - checkpoint.eventHashes.length + 1;
    const previous = trusted[trusted.length - 1];
    if (previous && firstSeq <= previous.seq) {
      problems.push({
        kind: 'checkpoint-order',
        seq: checkpoint.seq,
        checkpointLine: lineNumber,
        message: `checkpoint line ${lineNumber} covers seq ${firstSeq}–${checkpoint.seq}, overlapping line ${previous.lineNumber} (through seq ${previous.seq})`,
      });
      continue;
    }
    trusted.push({ lineNumber, firstSeq, seq: checkpoint.seq, headHash: checkpoint.headHash, eventHashes: checkpoint.eventHashes });
  }
  return trusted;
}
