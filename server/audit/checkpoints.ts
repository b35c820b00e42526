// Signed checkpoints kept outside the database. Whoever can write the database can recompute the whole hash
// chain; they cannot sign as the console, so the checkpoints pin what the chain looked like at each point.
import { config } from '../config';
import type { Db } from '../db/client';
import { sm3Hex } from '../crypto/digest';
import type { ParsedPublicKey } from '../crypto/keys';
import { configuredSinks, type CheckpointSink } from './anchor-sinks';
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
import { appendRecordedCheckpoints } from './checkpoint-catch-up';
import { checkpointRecordSummary, recordCheckpoint } from './checkpoint-record';
import { readConsolePublicKey } from './console-key';
import type { AuditProblem } from './problems';
import { consoleSigner } from './signing/console-signer';
import type { AuditSigner } from './signing/signer';
import { TrailVerifier } from './trail-verifier';
import { auditEventPages } from './verify';

export interface AuditCheckpointerOptions {
  checkpointFile: string;
  /** Opened on first use: the PKCS#11 token, or the SM2 key file. */
  signer: () => AuditSigner;
  /** The SM2 key file of earlier checkpoints: a new signer (a PKCS#11 token) may continue a file it signed. */
  legacyKeyFile?: string;
  /** Copies of each new line outside the database (syslog, webhook). */
  sinks?: CheckpointSink[];
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
  #signer: AuditSigner | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #db: Db | undefined;
  #polling = false;
  /** Hash of the last line this process wrote or found: the file must not change behind its back. */
  #lastLineHash: string | undefined;
  /** This process created the checkpoints file (a new replica), so an empty file is not an emptied one. */
  #createdFile = false;

  constructor(options: AuditCheckpointerOptions) {
    this.#options = options;
  }

  #consoleSigner(): AuditSigner {
    this.#signer ??= this.#options.signer();
    return this.#signer;
  }

  /** The console's public key (PEM, fingerprint), creating the key pair on first use. */
  publicKey(): ParsedPublicKey {
    return this.#consoleSigner().publicKey;
  }

  // Lines signed by the SM2 key file before the console moved to a token stay vouched for by the new key's lines.
  #mayContinue(fingerprint: string): boolean {
    if (fingerprint === this.#consoleSigner().fingerprint) return true;
    if (!this.#options.legacyKeyFile || this.#consoleSigner().custody === 'file') return false;
    try {
      return readConsolePublicKey(this.#options.legacyKeyFile).fingerprint === fingerprint;
    } catch {
      return false;
    }
  }

  // One checkpoint at a time: two interleaved writers would both link to the same previous line.
  #serialised<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #readLast(db: Db): Promise<LastCheckpoint> {
    // Another replica may have checkpointed while this one did not lead: its lines come from the database first.
    await appendRecordedCheckpoints(db, this.#options.checkpointFile, [this.#consoleSigner().publicKey], { lastLineHash: this.#lastLineHash, createdFile: this.#createdFile });
    const tail = await readCheckpointFileTail(this.#options.checkpointFile);
    const lineHash = tail?.lastLine ? sm3Hex(tail.lastLine) : GENESIS_CHECKPOINT_HASH;
    // Otherwise deleting or truncating the file while the console runs would make it re-sign a rewritten chain.
    if (this.#lastLineHash !== undefined && lineHash !== this.#lastLineHash) {
      throw new CheckpointRefusedError(
        `${this.#options.checkpointFile} no longer ends with the line this console last wrote: it was removed, cut or appended to ` +
          'by someone else; keep the file as evidence, run hotplane audit verify, and restart the console once resolved',
      );
    }
    const parsed = tail?.lastLine ? parseCheckpointLine(tail.lastLine) : null;
    if (parsed && !parsed.ok) {
      throw new CheckpointRefusedError(`the last line of ${this.#options.checkpointFile} is not a checkpoint (${parsed.message}); inspect the file`);
    }
    // An emptied or cut file would otherwise have the console sign the whole (perhaps rewritten) trail afresh.
    const recorded = await checkpointRecordSummary(db);
    const fileSeq = parsed?.checkpoint.seq ?? 0;
    if (fileSeq < recorded.throughSeq) {
      throw new CheckpointRefusedError(
        `the database records ${recorded.count} checkpoint(s) through seq ${recorded.throughSeq}, but ${this.#options.checkpointFile} ends at seq ${fileSeq}: ` +
          'checkpoint lines were removed; nothing is signed until the file is restored (from a backup or an anchor copy) and hotplane audit verify passes',
      );
    }
    this.#lastLineHash = lineHash;
    if (!parsed || !tail) return { checkpoint: null, lineHash, tornTail: tail?.tornTail ?? false };
    if (!this.#mayContinue(parsed.checkpoint.publicKeyFingerprint)) {
      throw new CheckpointRefusedError(
        `${this.#options.checkpointFile} was signed by another key (${parsed.checkpoint.publicKeyFingerprint.slice(0, 16)}…) than ` +
          `this console's (${this.#consoleSigner().description}): restore that key, or archive the file with its key and start a new one`,
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
      const last = await this.#readLast(db);
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
    const signer = this.#consoleSigner();
    const last = await this.#readLast(db);
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
      publicKeyFingerprint: signer.fingerprint,
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
        publicKeyFingerprint: signer.fingerprint,
        algorithm: signer.algorithm,
      },
      signer,
    );
    await appendCheckpointLine(this.#options.checkpointFile, text, last.tornTail);
    this.#lastLineHash = sm3Hex(text);
    await recordCheckpoint(db, checkpoint, this.#lastLineHash, text);
    await this.#copyToSinks(text, checkpoint.seq);
    return checkpoint;
  }

  async #copyToSinks(text: string, seq: number): Promise<void> {
    const sinks = this.#options.sinks ?? [];
    const results = await Promise.allSettled(sinks.map((sink) => sink.send(text, seq)));
    results.forEach((result, index) => {
      if (result.status === 'rejected') {
        console.error(`hotplane audit: checkpoint through seq ${seq} not copied to ${sinks[index].name}: ${String(result.reason)}`);
      }
    });
  }

  /** For the console process: creates the key and the file now (so a missing file later is an anomaly) and polls. */
  async start(db: Db): Promise<void> {
    if (this.#timer) return;
    this.#consoleSigner();
    this.#createdFile ||= (await readCheckpointFileTail(this.#options.checkpointFile)) === null;
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

  /**
   * Stops polling and, on a clean shutdown, covers the remaining events so none wait for the next start. With
   * `finalCheckpoint: false` (this replica lost the leader lease: another may sign already) it signs nothing more.
   */
  async stop({ finalCheckpoint = true } = {}): Promise<void> {
    if (!this.#timer || !this.#db) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    const db = this.#db;
    this.#db = undefined;
    if (finalCheckpoint) await this.checkpointNow(db);
    else await this.#queue;
  }
}

/** The checkpointer as the running console configures it. */
export function createAuditCheckpointer(overrides: Partial<AuditCheckpointerOptions> = {}): AuditCheckpointer {
  const settings = config();
  return new AuditCheckpointer({
    checkpointFile: settings.checkpointFile,
    signer: consoleSigner,
    legacyKeyFile: settings.consoleKeyFile,
    sinks: configuredSinks(settings),
    checkpointEvery: settings.checkpointEvery,
    checkpointIntervalMs: settings.checkpointIntervalMs,
    ...overrides,
  });
}
