// Signed checkpoints kept outside the database. Whoever can write the database can recompute the whole hash
// chain; they cannot sign as the console, so the checkpoints pin what the chain looked like at each point.
import { config } from '../config';
import type { Db } from '../db/client';
import { sm3Hex } from '../crypto/digest';
import type { ParsedPublicKey } from '../crypto/keys';
import { GENESIS_PREV_HASH } from './chain';
import { appendCheckpointLine, ensureCheckpointFile, readCheckpointFileTail } from './checkpoint-file';
import {
  CHECKPOINT_FORMAT,
  GENESIS_CHECKPOINT_HASH,
  eventHashPrefix,
  parseCheckpointLine,
  signCheckpoint,
  type AuditCheckpoint,
} from './checkpoint-format';
import { loadOrCreateConsoleKey, type ConsoleKey } from './console-key';
import type { AuditProblem } from './problems';
import { TrailVerifier } from './trail-verifier';
import { auditEventPages } from './verify';

export interface AuditCheckpointerOptions {
  checkpointFile: string;
  consoleKeyFile: string;
  /** Checkpoint once this many events are not yet covered. */
  checkpointEvery: number;
  /** ...or once the oldest uncovered event is this old. */
  checkpointIntervalMs: number;
  /** How often the timer looks; defaults to min(1 s, checkpointIntervalMs). */
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
  now?: () => Date;
}

/** The console refuses to sign a chain that does not continue its last checkpoint: signing it would bless the damage. */
export class CheckpointRefusedError extends Error {
  constructor(
    message: string,
    readonly problems: AuditProblem[] = [],
  ) {
    super(message);
    this.name = 'CheckpointRefusedError';
  }
}

interface LastCheckpoint {
  checkpoint: AuditCheckpoint | null;
  lineHash: string;
  tornTail: boolean;
}

export class AuditCheckpointer {
  readonly #options: AuditCheckpointerOptions;
  #key: ConsoleKey | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #db: Db | undefined;
  #polling = false;
  /** Hash of the last line this process wrote or found: the file must not change behind its back. */
  #lastLineHash: string | undefined;

  constructor(options: AuditCheckpointerOptions) {
    this.#options = options;
  }

  #consoleKey(): ConsoleKey {
    this.#key ??= loadOrCreateConsoleKey(this.#options.consoleKeyFile);
    return this.#key;
  }

  /** The console's public key (PEM, fingerprint), creating the key pair on first use. */
  publicKey(): ParsedPublicKey {
    return this.#consoleKey().publicKey;
  }

  // One checkpoint at a time: two interleaved writers would both link to the same previous line.
  #serialised<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #readLast(): Promise<LastCheckpoint> {
    const tail = await readCheckpointFileTail(this.#options.checkpointFile);
    const lineHash = tail?.lastLine ? sm3Hex(tail.lastLine) : GENESIS_CHECKPOINT_HASH;
    // Otherwise deleting or truncating the file while the console runs would make it re-sign a rewritten chain.
    if (this.#lastLineHash !== undefined && lineHash !== this.#lastLineHash) {
      throw new CheckpointRefusedError(
        `${this.#options.checkpointFile} no longer ends with the line this console last wrote: it was removed, cut or appended to ` +
          'by someone else; keep the file as evidence, run hotplane audit verify, and restart the console once resolved',
      );
    }
    this.#lastLineHash = lineHash;
    if (!tail?.lastLine) return { checkpoint: null, lineHash, tornTail: tail?.tornTail ?? false };
    const parsed = parseCheckpointLine(tail.lastLine);
    if (!parsed.ok) {
      throw new CheckpointRefusedError(`the last line of ${this.#options.checkpointFile} is not a checkpoint (${parsed.message}); inspect the file`);
    }
    if (parsed.checkpoint.publicKeyFingerprint !== this.#consoleKey().publicKey.fingerprint) {
      throw new CheckpointRefusedError(
        `${this.#options.checkpointFile} was signed by another key (${parsed.checkpoint.publicKeyFingerprint.slice(0, 16)}…) than ` +
          `${this.#options.consoleKeyFile}: restore that key, or archive the file with its key and start a new one`,
      );
    }
    return { checkpoint: parsed.checkpoint, lineHash, tornTail: tail.tornTail };
  }

  /** Writes a checkpoint covering every event since the last one; null when there is nothing new. */
  checkpointNow(db: Db): Promise<AuditCheckpoint | null> {
    return this.#serialised(() => this.#checkpoint(db));
  }

  /** Checkpoints when checkpointEvery events are uncovered, or the oldest uncovered one is checkpointIntervalMs old. */
  maybeCheckpoint(db: Db): Promise<AuditCheckpoint | null> {
    return this.#serialised(async () => {
      const last = await this.#readLast();
      const coveredSeq = last.checkpoint?.seq ?? 0;
      const head = await db.auditEvent.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true } });
      const uncovered = (head?.seq ?? 0) - coveredSeq;
      if (uncovered <= 0) return null;
      if (uncovered < this.#options.checkpointEvery) {
        const oldest = await db.auditEvent.findFirst({ where: { seq: { gt: coveredSeq } }, orderBy: { seq: 'asc' }, select: { time: true } });
        const age = this.#now().getTime() - Date.parse(oldest?.time ?? '');
        // An unreadable time (NaN age) must not postpone the checkpoint forever.
        if (age < this.#options.checkpointIntervalMs) return null;
      }
      return this.#checkpoint(db);
    });
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  async #checkpoint(db: Db): Promise<AuditCheckpoint | null> {
    const key = this.#consoleKey();
    const last = await this.#readLast();
    const after = { seq: last.checkpoint?.seq ?? 0, hash: last.checkpoint?.headHash ?? GENESIS_PREV_HASH };
    if (after.seq > 0) {
      const anchor = await db.auditEvent.findUnique({ where: { seq: after.seq }, select: { hash: true } });
      if (anchor?.hash !== after.hash) {
        const what = anchor
          ? `event ${after.seq} no longer has the hash the last checkpoint recorded`
          : `event ${after.seq}, covered by the last checkpoint, is gone`;
        throw new CheckpointRefusedError(
          `${what}: the trail was rewritten or truncated (or the database restored from an older backup); run hotplane audit verify`,
        );
      }
    }
    // Only the events since the last checkpoint need checking: everything up to it was checked before it was signed.
    const verifier = new TrailVerifier({
      publicKeyFingerprint: key.publicKey.fingerprint,
      after,
    });
    const eventHashes: string[] = [];
    let head: { seq: number; hash: string } | undefined;
    for await (const page of auditEventPages(db, { afterSeq: after.seq })) {
      for (const row of page) {
        verifier.checkRow(row);
        eventHashes.push(eventHashPrefix(row.hash));
        head = row;
      }
    }
    if (!head) return null;
    const check = verifier.finish();
    if (!check.ok) {
      throw new CheckpointRefusedError(
        `the events after the last checkpoint do not form an intact chain (first bad seq ${check.firstBadSeq}); nothing was signed`,
        check.problems,
      );
    }
    const { checkpoint, text } = signCheckpoint(
      {
        format: CHECKPOINT_FORMAT,
        seq: head.seq,
        headHash: head.hash,
        time: this.#now().toISOString(),
        eventHashes,
        prevCheckpointHash: last.lineHash,
        publicKeyFingerprint: key.publicKey.fingerprint,
      },
      key.privateKeyPem,
    );
    await appendCheckpointLine(this.#options.checkpointFile, text, last.tornTail);
    this.#lastLineHash = sm3Hex(text);
    return checkpoint;
  }

  /** For the console process: creates the key and the file now (so a missing file later is an anomaly) and polls. */
  async start(db: Db): Promise<void> {
    if (this.#timer) return;
    this.#consoleKey();
    await ensureCheckpointFile(this.#options.checkpointFile);
    this.#db = db;
    const poll = this.#options.pollIntervalMs ?? Math.min(1000, this.#options.checkpointIntervalMs);
    const onError = this.#options.onError ?? ((error: unknown) => console.error('audit checkpoint failed:', error));
    let lastFailure: string | undefined;
    this.#timer = setInterval(() => {
      // A long checkpoint (a large backlog) must not pile up polls behind it.
      if (this.#polling) return;
      this.#polling = true;
      this.maybeCheckpoint(db)
        .then(
          () => {
            lastFailure = undefined;
          },
          (error: unknown) => {
            // A refusal persists until someone acts; say so once, not every poll.
            if (String(error) !== lastFailure) onError(error);
            lastFailure = String(error);
          },
        )
        .finally(() => {
          this.#polling = false;
        });
    }, poll);
    // The checkpoint timer alone should never keep a process alive.
    this.#timer.unref();
  }

  /** Stops polling and, on a clean shutdown, covers the remaining events so none wait for the next start. */
  async stop(): Promise<void> {
    if (!this.#timer || !this.#db) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    const db = this.#db;
    this.#db = undefined;
    await this.checkpointNow(db);
  }
}

/** The checkpointer as the running console configures it. */
export function createAuditCheckpointer(overrides: Partial<AuditCheckpointerOptions> = {}): AuditCheckpointer {
  const settings = config();
  return new AuditCheckpointer({
    checkpointFile: settings.checkpointFile,
    consoleKeyFile: settings.consoleKeyFile,
    checkpointEvery: settings.checkpointEvery,
    checkpointIntervalMs: settings.checkpointIntervalMs,
    ...overrides,
  });
}
