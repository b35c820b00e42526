import type { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { DomainError, DomainErrorCode } from '../errors';

// Waiting for another connection's write lock (a backup, the sqlite3 shell, a second console on the same file)
// without stopping the console. SQLite's own busy_timeout does neither job here:
// - better-sqlite3 is synchronous, so SQLite sleeps inside the call and the whole event loop stops with it, for
//   up to the full timeout, on every write that meets the lock;
// - the adapter begins transactions DEFERRED, and a transaction that has read before it writes gets SQLITE_BUSY
//   at once, without the busy handler (SQLite refuses to wait where waiting could deadlock): most of the console's
//   transactions read first, so they failed at once, however long the timeout.
// So SQLite waits only a few milliseconds per attempt, a transaction claims the write lock with its first statement
// (while it holds nothing, so retrying that statement is safe), and the retries wait on timers.

/** SQLite's own synchronous wait per attempt: short, since it blocks this thread. */
export const SQLITE_BUSY_TIMEOUT_MS = 20;
/** How long a statement or transaction waits for the write lock, in all, before it is refused. */
export const DEFAULT_LOCK_WAIT_MS = 10_000;
const MAX_RETRY_DELAY_MS = 100;
// Takes the write lock, changes nothing: _prisma_migrations exists in every database migrate.ts has touched.
const CLAIM_WRITE_LOCK = { sql: 'DELETE FROM "_prisma_migrations" WHERE 0', args: [], argTypes: [] };

/** A write lock held elsewhere for longer than the wait: refused whole, so nothing of it was written. */
export class DatabaseLockedError extends DomainError {
  constructor(waitedMs: number) {
    super(
      DomainErrorCode.Unavailable,
      `the database is locked by another connection (a backup, the sqlite3 shell, a second console?): waited ${(waitedMs / 1000).toFixed(1)} s for its write lock; nothing was written, try again`,
    );
  }
}

// Transactions take the one connection in turn, and Prisma gives up on one still queued after maxWait: behind others
// that each wait for the lock, a transaction can run out of its turn before it ever waits itself.
const TRANSACTION_QUEUE_TIMEOUT = /Unable to start a transaction in the given time/;

/**
 * The refusal as a DomainError, also when Prisma has wrapped it (a single statement's error reaches the caller as
 * a PrismaClientKnownRequestError carrying its code and message) or refused a transaction queued behind ones that
 * wait for the lock; null for any other error.
 */
export function databaseLocked(error: unknown): DomainError | null {
  if (error instanceof DatabaseLockedError) return error;
  const e = error as { code?: unknown; message?: unknown } | null;
  if (e?.code === 'P2028' && typeof e.message === 'string' && TRANSACTION_QUEUE_TIMEOUT.test(e.message)) {
    return new DomainError(
      DomainErrorCode.Unavailable,
      'the database is locked by another connection (a backup, the sqlite3 shell, a second console?): this change queued behind other writes waiting for it and was refused; nothing was written, try again',
    );
  }
  // PostgreSQL: a statement outside a transaction that lost a serialization or deadlock conflict (transactions are
  // retried first, postgres-client.ts).
  if (e?.code === 'P2034') {
    return new DomainError(DomainErrorCode.Unavailable, 'the database refused this change because a concurrent change conflicted with it: nothing was written, try again');
  }
  const message = e?.code === DomainErrorCode.Unavailable && typeof e.message === 'string' ? /the database is locked .*/.exec(e.message)?.[0] : undefined;
  return message ? new DomainError(DomainErrorCode.Unavailable, message) : null;
}

// The adapter reports SQLITE_BUSY (and its extended codes) as a DriverAdapterError of kind SocketTimeout.
function isBusy(error: unknown): boolean {
  const e = error as { name?: string; cause?: { kind?: string } } | null;
  return e?.name === 'DriverAdapterError' && e.cause?.kind === 'SocketTimeout';
}

async function untilUnlocked<T>(attempt: () => Promise<T>, lockWaitMs: number): Promise<T> {
  const started = Date.now();
  for (let delay = 2; ; delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
    try {
      return await attempt();
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (Date.now() - started + delay > lockWaitMs) throw new DatabaseLockedError(Date.now() - started);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

type Adapter = Awaited<ReturnType<PrismaBetterSqlite3['connect']>>;
type Transaction = Awaited<ReturnType<Adapter['startTransaction']>>;

function waitingAdapter(adapter: Adapter, lockWaitMs: number): Adapter {
  const startTransaction = async (isolationLevel?: Parameters<Adapter['startTransaction']>[0]): Promise<Transaction> => {
    const transaction = await adapter.startTransaction(isolationLevel);
    try {
      await untilUnlocked(() => transaction.executeRaw(CLAIM_WRITE_LOCK), lockWaitMs);
    } catch (error) {
      await transaction.executeRaw({ sql: 'ROLLBACK', args: [], argTypes: [] }).catch(() => undefined);
      await transaction.rollback();
      throw error;
    }
    return transaction;
  };
  return new Proxy(adapter, {
    get(target, property) {
      if (property === 'queryRaw') return (query: Parameters<Adapter['queryRaw']>[0]) => untilUnlocked(() => target.queryRaw(query), lockWaitMs);
      if (property === 'executeRaw') return (query: Parameters<Adapter['executeRaw']>[0]) => untilUnlocked(() => target.executeRaw(query), lockWaitMs);
      if (property === 'startTransaction') return startTransaction;
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The adapter factory, with every statement and transaction waiting for the write lock as described above. */
export function waitingForLocks(factory: PrismaBetterSqlite3, lockWaitMs = DEFAULT_LOCK_WAIT_MS): PrismaBetterSqlite3 {
  return new Proxy(factory, {
    get(target, property) {
      if (property === 'connect') return async () => waitingAdapter(await target.connect(), lockWaitMs);
      // Private fields: methods and getters must see the factory itself, not the proxy.
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
