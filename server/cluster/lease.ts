import { SYSTEM_ACTOR } from '../audit/actor';
import { appendAuditEvent } from '../audit/append';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import './audit-actions';

// A leader lease in the database: one row per lease name with its holder, an epoch and an expiry. The holder renews
// it every `renewMs`; once it has not for `ttlMs`, any replica may take it over, which raises the epoch. The epoch
// is the fencing token: a write on the leader's behalf first runs `fence(tx)`, a conditional UPDATE of the lease
// row inside the writer's own transaction, so it commits only if that epoch is still the current one. On
// PostgreSQL the UPDATE takes the row lock (a takeover waits for the write in flight, or the write sees the new
// epoch); on SQLite transactions are serialised. No session lock on a pooled connection is involved.

export const ROLLOUT_ENGINE_LEASE = 'rollout-engine';

export interface LeaseOptions {
  db: Db;
  name: string;
  replica: string;
  /** How long a lease lasts without renewal; a takeover comes at most ttlMs + renewMs after the holder stops. */
  ttlMs?: number;
  renewMs?: number;
  onGain?: (epoch: number) => void | Promise<void>;
  /** `lost`: another replica may lead already, write nothing more; `stopping`: still held until this returns. */
  onLoss?: (epoch: number, how: 'lost' | 'stopping') => void | Promise<void>;
  log?: (line: string) => void;
  now?: () => number;
}

/** A write refused because the replica is no longer the leader of that epoch: nothing of it was committed. */
export class StaleLeaderError extends DomainError {
  constructor(name: string, replica: string, epoch: number) {
    super(DomainErrorCode.Conflict, `replica ${replica} no longer holds the ${name} lease of epoch ${epoch}: another replica took over, so this write was refused and nothing of it was kept`);
    this.name = 'StaleLeaderError';
  }
}

export class LeaderLease {
  readonly ttlMs: number;
  readonly renewMs: number;
  #epoch: number | null = null;
  #timer: NodeJS.Timeout | undefined;
  #turn: Promise<void> = Promise.resolve();
  readonly #now: () => number;

  constructor(private readonly options: LeaseOptions) {
    this.ttlMs = options.ttlMs ?? 3_000;
    this.renewMs = options.renewMs ?? 1_000;
    if (!(this.renewMs * 2 <= this.ttlMs)) throw new Error(`lease ${options.name}: renew every ${this.renewMs} ms is too slow for a ${this.ttlMs} ms expiry; renew at least twice per expiry`);
    this.#now = options.now ?? Date.now;
  }

  /** The epoch this replica holds, or null. A held epoch may already be stale: writes are fenced, not trusted. */
  get epoch(): number | null {
    return this.#epoch;
  }

  start() {
    this.#timer = setInterval(() => void this.beat(), this.renewMs);
    this.#timer.unref();
    void this.beat();
    return this;
  }

  /** One renewal (if held) or takeover attempt (if free or expired); beats never overlap. */
  beat(): Promise<void> {
    this.#turn = this.#turn.then(() => this.#beat()).catch((error: Error) => this.options.log?.(`lease ${this.options.name}: ${error.message}`));
    return this.#turn;
  }

  async #beat() {
    if (this.#epoch !== null) {
      if (await this.#renew(this.#epoch)) return;
      await this.#lost();
    }
    const gained = await this.#takeOver();
    if (gained !== null) {
      this.#epoch = gained;
      await this.options.onGain?.(gained);
    }
  }

  async #lost() {
    const epoch = this.#epoch!;
    this.#epoch = null;
    this.options.log?.(`lease ${this.options.name}: lost epoch ${epoch}`);
    await this.options.onLoss?.(epoch, 'lost');
  }

  async #renew(epoch: number): Promise<boolean> {
    const now = this.#now();
    const { count } = await this.options.db.clusterLease.updateMany({
      where: { name: this.options.name, holder: this.options.replica, epoch },
      data: { expiresAt: new Date(now + this.ttlMs), renewedAt: new Date(now) },
    });
    return count === 1;
  }

  // The row exists from the first replica on, expired and held by nobody (epoch 0): every election is then one
  // conditional UPDATE, so of two replicas trying at once one changes the row and the other finds it taken.
  async #ensureRow() {
    const { db, name } = this.options;
    await db.clusterLease
      .upsert({ where: { name }, create: { name, holder: '', epoch: 0, expiresAt: new Date(0), renewedAt: new Date(0) }, update: {} })
      .catch((error: { code?: string }) => {
        if (error.code !== 'P2002') throw error;
      });
  }

  /** Takes the lease if it is free or expired, auditing the election in the same transaction. */
  async #takeOver(): Promise<number | null> {
    const { db, name, replica } = this.options;
    await this.#ensureRow();
    return db.$transaction(async (tx) => {
      const now = this.#now();
      const current = await tx.clusterLease.findUniqueOrThrow({ where: { name } });
      if (current.expiresAt.getTime() > now) return null;
      const epoch = current.epoch + 1;
      const { count } = await tx.clusterLease.updateMany({
        where: { name, epoch: current.epoch, expiresAt: { lte: new Date(now) } },
        data: { holder: replica, epoch, expiresAt: new Date(now + this.ttlMs), renewedAt: new Date(now) },
      });
      if (count !== 1) return null;
      const previous = current.epoch === 0 ? null : { replica: current.holder, epoch: current.epoch, expiredAt: current.expiresAt.toISOString() };
      await appendAuditEvent(tx, { actor: SYSTEM_ACTOR, action: 'cluster.leader_elected', targetType: 'lease', targetId: name, details: { replica, epoch, previous } });
      return epoch;
    });
  }

  /** Refuses the caller's transaction unless this replica still holds the lease at the epoch it took. */
  async fence(tx: DbTransaction, epoch = this.#epoch): Promise<void> {
    const { name, replica } = this.options;
    if (epoch === null) throw new StaleLeaderError(name, replica, 0);
    const { count } = await tx.clusterLease.updateMany({ where: { name, holder: replica, epoch }, data: { holder: replica } });
    if (count !== 1) throw new StaleLeaderError(name, replica, epoch);
  }

  /** Stops renewing. With `resign`, a held lease is given up at once (audited), so another replica need not wait. */
  async stop({ resign = false } = {}) {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#turn;
    const epoch = this.#epoch;
    if (epoch === null) return;
    this.#epoch = null;
    await this.options.onLoss?.(epoch, 'stopping');
    if (!resign) return;
    const { db, name, replica } = this.options;
    await db.$transaction(async (tx) => {
      const { count } = await tx.clusterLease.updateMany({ where: { name, holder: replica, epoch }, data: { expiresAt: new Date(0) } });
      if (count === 1) await appendAuditEvent(tx, { actor: SYSTEM_ACTOR, action: 'cluster.leader_resigned', targetType: 'lease', targetId: name, details: { replica, epoch } });
    });
  }
}
