// The one verification procedure, whatever the events come from (the database, an export, the checkpointer's
// look at what is new): walk the events in seq order once, recompute each hash, follow the links, and hold
// the stored hashes against the signed checkpoints.
import type { ParsedPublicKey } from '../crypto/keys';
import type { CheckpointRecordSummary } from './checkpoint-record';
import { GENESIS_PREV_HASH, hashAuditEvent, readEventRow, type AuditEventRow } from './chain';
import {
  authenticateCheckpoints,
  eventHashPrefix,
  type CheckpointAuthentication,
  type CheckpointLine,
  type TrustedCheckpoint,
} from './checkpoint-format';
import { isEventProblem, type AuditProblem, type AuditProblemKind } from './problems';

export interface AuditVerification {
  ok: boolean;
  eventsChecked: number;
  /** Lines of the checkpoints file examined. */
  checkpointsChecked: number;
  /** Of those, the lines whose signature (directly or through the line chain) is valid. */
  checkpointsTrusted: number;
  durationMs: number;
  /** Sorted by seq; runs of one kind over consecutive seqs are folded into one problem with throughSeq. */
  problems: AuditProblem[];
  /** Problems beyond maxProblems, counted but not listed. */
  problemsOmitted: number;
  /** The lowest seq named by an event problem: where the trail stops being trustworthy. */
  firstBadSeq: number | null;
  /** Last seq in the trail (0 when empty) and its stored hash. */
  headSeq: number;
  headHash: string | null;
  /** Events up to here are covered by signed checkpoints; later ones rest on the hash chain alone. */
  checkpointedThroughSeq: number;
  /** The first event no trusted checkpoint covers (through headSeq), or null when every event is covered. */
  uncoveredFromSeq: number | null;
  /** What the database (or a signed export manifest) says was checkpointed; null when nothing says. */
  recorded: CheckpointRecordSummary | null;
  publicKeyFingerprint: string;
}

export interface TrailVerifierOptions {
  /** The checkpoints to hold the events against; none when only the chain itself is checked. */
  checkpoints?: CheckpointAuthentication;
  /** The checkpoints file should exist but does not: a problem in itself. */
  checkpointFileMissing?: boolean;
  publicKeyFingerprint: string;
  /** Found before the events were read (an export's signature and digests). */
  preliminaryProblems?: AuditProblem[];
  /** What was checkpointed by the record's account: the trusted lines must cover at least this much. */
  recorded?: CheckpointRecordSummary;
  maxProblems?: number;
  /** Start after an event already trusted, instead of at the genesis. */
  after?: { seq: number; hash: string };
  /** performance.now() when the verification began, if before this verifier was made. */
  startedAt?: number;
}

const FOLDED_KINDS = new Set<AuditProblemKind>(['event-malformed', 'hash-mismatch', 'broken-link', 'unexpected-seq']);

export class TrailVerifier {
  readonly #options: TrailVerifierOptions;
  readonly #checkpoints: TrustedCheckpoint[];
  readonly #maxProblems: number;
  readonly #startedAt: number;
  readonly #problems: AuditProblem[] = [];
  readonly #openRuns = new Map<AuditProblemKind, AuditProblem>();
  readonly #mismatchedCheckpoints = new Set<number>();
  #omitted = 0;
  #firstBadSeq: number | null = null;
  #eventsChecked = 0;
  #checkpointIndex = 0;
  #lastSeq: number;
  /** Stored hash of the previous event; null when it is unknown (missing or unreadable). */
  #lastHash: string | null;
  #hashBeforeLast: string | null = null;

  constructor(options: TrailVerifierOptions) {
    this.#options = options;
    this.#startedAt = options.startedAt ?? performance.now();
    this.#checkpoints = options.checkpoints?.trusted ?? [];
    this.#maxProblems = options.maxProblems ?? 1000;
    this.#lastSeq = options.after?.seq ?? 0;
    this.#lastHash = options.after?.hash ?? GENESIS_PREV_HASH;
    for (const problem of [...(options.preliminaryProblems ?? []), ...(options.checkpoints?.problems ?? [])]) this.#report(problem);
  }

  #report(problem: AuditProblem): void {
    if (isEventProblem(problem) && problem.seq !== null) {
      this.#firstBadSeq = Math.min(this.#firstBadSeq ?? problem.seq, problem.seq);
    }
    const open = this.#openRuns.get(problem.kind);
    if (open && FOLDED_KINDS.has(problem.kind) && problem.seq !== null && (open.throughSeq ?? open.seq!) + 1 === problem.seq) {
      open.throughSeq = problem.seq;
      return;
    }
    if (this.#problems.length >= this.#maxProblems) {
      this.#omitted += 1;
      return;
    }
    const recorded = { ...problem };
    this.#problems.push(recorded);
    this.#openRuns.set(problem.kind, recorded);
  }

  /** Checks the next event; rows must come in ascending seq order. */
  checkRow(row: AuditEventRow): void {
    this.#eventsChecked += 1;
    const expected = this.#lastSeq + 1;
    if (!Number.isSafeInteger(row.seq) || row.seq < expected) {
      this.#report({
        kind: 'unexpected-seq',
        seq: Number.isSafeInteger(row.seq) ? row.seq : expected,
        message: 'this seq cannot follow the events before it: seq rises by one from 1',
      });
      return;
    }
    let linkKnown = this.#lastHash !== null;
    if (row.seq > expected) {
      this.#report({
        kind: 'missing',
        seq: expected,
        throughSeq: row.seq - 1,
        message: row.seq - 1 === expected ? `event ${expected} is missing` : `events ${expected}–${row.seq - 1} are missing`,
      });
      linkKnown = false;
    }
    const read = readEventRow(row);
    if (!read.ok) {
      this.#report({ kind: 'event-malformed', seq: row.seq, message: `the event cannot be read: ${read.message}` });
    } else if (hashAuditEvent(read.content) !== row.hash) {
      this.#report({
        kind: 'hash-mismatch',
        seq: row.seq,
        message: "the stored hash is not the SM3 of the event's content: the event was changed after it was written",
      });
    }
    if (linkKnown && row.prevHash !== this.#lastHash) {
      if (this.#hashBeforeLast !== null && row.prevHash === this.#hashBeforeLast) {
        this.#report({
          kind: 'inserted',
          seq: row.seq - 1,
          message: `event ${row.seq} links past event ${row.seq - 1} to event ${row.seq - 2}: event ${row.seq - 1} was slipped in or moved here`,
        });
      } else {
        this.#report({
          kind: 'broken-link',
          seq: row.seq,
          message: 'prevHash is not the hash of the event before: events were reordered, replaced or re-linked',
        });
      }
    }
    this.#compareWithCheckpoint(row);
    this.#hashBeforeLast = row.seq === expected ? this.#lastHash : null;
    this.#lastHash = row.hash;
    this.#lastSeq = row.seq;
  }

  /** An event that could not even be decoded (e.g. a broken export line) still takes its place in the sequence. */
  skipUnreadableEvent(message: string): void {
    this.#eventsChecked += 1;
    const seq = this.#lastSeq + 1;
    this.#report({ kind: 'event-malformed', seq, message: `the event cannot be read: ${message}` });
    this.#lastSeq = seq;
    this.#lastHash = null;
    this.#hashBeforeLast = null;
  }

  // One problem per checkpoint, at its first disagreeing event: after a rewrite every later hash differs too.
  #compareWithCheckpoint(row: AuditEventRow): void {
    while (this.#checkpointIndex < this.#checkpoints.length && this.#checkpoints[this.#checkpointIndex].seq < row.seq) {
      this.#checkpointIndex += 1;
    }
    const checkpoint = this.#checkpoints[this.#checkpointIndex];
    if (!checkpoint || row.seq < checkpoint.firstSeq || this.#mismatchedCheckpoints.has(checkpoint.lineNumber)) return;
    const recorded = checkpoint.eventHashes[row.seq - checkpoint.firstSeq];
    const agrees = eventHashPrefix(row.hash) === recorded && (row.seq !== checkpoint.seq || row.hash === checkpoint.headHash);
    if (agrees) return;
    this.#mismatchedCheckpoints.add(checkpoint.lineNumber);
    this.#report({
      kind: 'checkpoint-mismatch',
      seq: row.seq,
      checkpointLine: checkpoint.lineNumber,
      message:
        `signed checkpoint line ${checkpoint.lineNumber} recorded hash ${recorded}… for event ${row.seq}, ` +
        `the trail has ${eventHashPrefix(row.hash)}…: the event was replaced, or the chain recomputed from here`,
    });
  }

  /** `expectedHead`: where an unsigned source (an export's manifest) says the trail ends. */
  finish(expectedHead?: { seq: number; source: string }): AuditVerification {
    const { checkpoints, checkpointFileMissing } = this.#options;
    const lastTrusted = this.#checkpoints[this.#checkpoints.length - 1];
    if (lastTrusted && lastTrusted.seq > this.#lastSeq) {
      this.#report({
        kind: 'truncated',
        seq: this.#lastSeq + 1,
        throughSeq: lastTrusted.seq,
        checkpointLine: lastTrusted.lineNumber,
        message:
          `signed checkpoint line ${lastTrusted.lineNumber} vouches for events through ${lastTrusted.seq}, ` +
          `but the trail ends at ${this.#lastSeq}: events ${this.#lastSeq + 1}–${lastTrusted.seq} were deleted`,
      });
    } else if (expectedHead && expectedHead.seq > this.#lastSeq) {
      this.#report({
        kind: 'truncated',
        seq: this.#lastSeq + 1,
        throughSeq: expectedHead.seq,
        message: `${expectedHead.source} lists events through ${expectedHead.seq}, but the trail ends at ${this.#lastSeq}`,
      });
    }
    const coveredSeq = lastTrusted?.seq ?? 0;
    const { recorded } = this.#options;
    if (recorded && recorded.throughSeq > coveredSeq) {
      this.#report({
        kind: 'checkpoint-coverage',
        seq: coveredSeq + 1,
        throughSeq: recorded.throughSeq,
        message:
          `the record shows ${recorded.count} checkpoint(s) written through seq ${recorded.throughSeq}, but the trusted checkpoint lines cover ` +
          `${coveredSeq === 0 ? 'nothing' : `only through seq ${coveredSeq} (${this.#checkpoints.length} line(s))`}: ` +
          'checkpoint lines were removed, emptied or replaced; restore the file from a backup or an anchor copy',
      });
    }
    if (checkpointFileMissing && this.#lastSeq > 0) {
      this.#report({
        kind: 'checkpoint-file-missing',
        seq: null,
        message: 'there is no checkpoints file: either the console never ran here or the file was removed; without it a rewritten chain goes unnoticed',
      });
    }
    const problems = [...this.#problems].sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
    return {
      ok: problems.length === 0 && this.#omitted === 0,
      eventsChecked: this.#eventsChecked,
      checkpointsChecked: checkpoints?.linesChecked ?? 0,
      checkpointsTrusted: this.#checkpoints.length,
      durationMs: Math.round(performance.now() - this.#startedAt),
      problems,
      problemsOmitted: this.#omitted,
      firstBadSeq: this.#firstBadSeq,
      headSeq: this.#lastSeq,
      headHash: this.#lastHash,
      checkpointedThroughSeq: Math.min(coveredSeq, this.#lastSeq),
      uncoveredFromSeq: coveredSeq < this.#lastSeq ? coveredSeq + 1 : null,
      recorded: recorded ?? null,
      publicKeyFingerprint: this.#options.publicKeyFingerprint,
    };
  }
}

/** A stored event, or the place of one that could not be decoded at all (a broken export line). */
export type TrailItem = AuditEventRow | { unreadable: string };

export interface VerifyTrailOptions {
  checkpointLines: CheckpointLine[] | null;
  /** The trust anchor: the console key checkpoints must (through their links) be signed by. */
  publicKey: ParsedPublicKey;
  recorded?: CheckpointRecordSummary;
  preliminaryProblems?: AuditProblem[];
  maxProblems?: number;
  expectedHead?: { seq: number; source: string };
}

/** Verifies a whole trail given as pages of events in ascending seq order. */
export async function verifyTrail(pages: AsyncIterable<TrailItem[]>, options: VerifyTrailOptions): Promise<AuditVerification> {
  const startedAt = performance.now();
  const verifier = new TrailVerifier({
    startedAt,
    checkpoints: options.checkpointLines ? authenticateCheckpoints(options.checkpointLines, options.publicKey) : undefined,
    checkpointFileMissing: options.checkpointLines === null,
    publicKeyFingerprint: options.publicKey.fingerprint,
    recorded: options.recorded,
    preliminaryProblems: options.preliminaryProblems,
    maxProblems: options.maxProblems,
  });
  for await (const page of pages) {
    for (const item of page) {
      if ('unreadable' in item) verifier.skipUnreadableEvent(item.unreadable);
      else verifier.checkRow(item);
    }
  }
  return verifier.finish(options.expectedHead);
}
