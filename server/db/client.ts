import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from './generated/client';
import { DEFAULT_LOCK_WAIT_MS, SQLITE_BUSY_TIMEOUT_MS, waitingForLocks } from './lock-wait';
import { applyMigrations } from './migrate';
import { config } from '../config';

export type Db = InstanceType<typeof PrismaClient>;
export type DbTransaction = Parameters<Parameters<Db['$transaction']>[0]>[0];

/** `lockWaitMs`: how long a write waits for another connection's write lock before it is refused (lock-wait.ts). */
export function createDb(databaseUrl: string, options: { lockWaitMs?: number } = {}): Db {
  applyMigrations(databaseUrl);
  const lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  const adapter = waitingForLocks(new PrismaBetterSqlite3({ url: databaseUrl, timeout: SQLITE_BUSY_TIMEOUT_MS }), lockWaitMs);
  // Starting a transaction includes waiting for the write lock, which Prisma would otherwise cut off after 2 s.
  return new PrismaClient({ adapter, transactionOptions: { maxWait: lockWaitMs + 2_000 } });
}

// One client per process: Next re-evaluates modules in dev, so the instance lives on globalThis.
const holder = globalThis as unknown as { hotplaneDb?: Db };

export function db(): Db {
  holder.hotplaneDb ??= createDb(config().databaseUrl);
  return holder.hotplaneDb;
}
