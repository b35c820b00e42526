// What the verifier reports. Event problems name the seq of the event that is wrong; checkpoint problems name
// the checkpoint's line in the checkpoints file (and its seq when the line could be read).

export const EVENT_PROBLEM_KINDS = [
  /** A row whose fields cannot be read back (non-JSON details, wrong types). */
  'event-malformed',
  /** The stored hash is not the SM3 of the row's content: the row was edited and its hash left alone. */
  'hash-mismatch',
  /** prevHash is not the hash of the event before it: rows were reordered, replaced or re-linked. */
  'broken-link',
  /** A seq between two stored events is absent: rows were deleted. */
  'missing',
  /** The next event links past this one to the event before it: this row was slipped in. */
  'inserted',
  /** A seq that cannot occur in an append-only trail (below 1, repeated or going backwards). */
  'unexpected-seq',
  /** The stored hash differs from the one a signed checkpoint recorded: the chain was rewritten from here. */
  'checkpoint-mismatch',
  /** A signed checkpoint vouches for events the trail no longer has: its tail was cut off. */
  'truncated',
] as const;

export const CHECKPOINT_PROBLEM_KINDS = [
  /** The checkpoints file is gone although the console creates it when it starts. */
  'checkpoint-file-missing',
  /** A line that is not a well-formed checkpoint. */
  'checkpoint-malformed',
  /** A line signed by another key than the console key being verified against. */
  'checkpoint-key',
  /** A line whose signature is not valid for its content (forged or edited). */
  'checkpoint-signature',
  /** prevCheckpointHash is not the hash of the line before: lines were deleted, inserted or reordered. */
  'checkpoint-chain',
  /** A checkpoint whose range overlaps or goes behind an earlier one. */
  'checkpoint-order',
  /** The database records checkpoints through a later seq than the trusted lines cover: lines were removed. */
  'checkpoint-coverage',
] as const;

export const EXPORT_PROBLEM_KINDS = [
  /** An export whose manifest signature is missing or not valid for the trusted key. */
  'export-signature',
  /** A file of an export whose digests differ from those its signed manifest lists. */
  'export-digest',
] as const;

export type EventProblemKind = (typeof EVENT_PROBLEM_KINDS)[number];
export type CheckpointProblemKind = (typeof CHECKPOINT_PROBLEM_KINDS)[number];
export type AuditProblemKind = EventProblemKind | CheckpointProblemKind | (typeof EXPORT_PROBLEM_KINDS)[number];

export interface AuditProblem {
  kind: AuditProblemKind;
  /** The (first) event seq concerned; null for a checkpoint line whose seq could not be read. */
  seq: number | null;
  /** Set when the same problem holds for every seq from seq through throughSeq. */
  throughSeq?: number;
  /** 1-based line in the checkpoints file, for checkpoint problems. */
  checkpointLine?: number;
  message: string;
}

const EVENT_KINDS = new Set<AuditProblemKind>(EVENT_PROBLEM_KINDS);

export function isEventProblem(problem: AuditProblem): boolean {
  return EVENT_KINDS.has(problem.kind);
}
