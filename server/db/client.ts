import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from './generated/client';
import { DEFAULT_LOCK_WAIT_MS, SQLITE_BUSY_TIMEOUT_MS, waitingForLocks } from './lock-wait';
import { applyMigrations } from './migrate';
import { dialectOf } from './dialect';
import { createPostgresDb, migratePostgresOnce } from './postgres-client';
import { config } from '../config';

export type Db = InstanceType<typeof PrismaClient>;
export type DbTransaction = Parameters<Parameters<Db['$transaction']>[0]>[0];

/**
 * A client for DATABASE_URL: `file:` → SQLite (migrated here, synchronously), `postgresql://` → PostgreSQL
 * (migrated before its first query; `await prepareDatabase(url)` first to fail at start-up rather than there).
 * `lockWaitMs`: how long a write waits for another connection's write lock before it is refused (lock-wait.ts).
 */
export function createDb(databaseUrl: string, options: { lockWaitMs?: number } = {}): Db {
  const lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  if (dialectOf(databaseUrl) === 'postgresql') return createPostgresDb(databaseUrl, { lockWaitMs });
  applyMigrations(databaseUrl);
  const adapter = waitingForLocks(new PrismaBetterSqlite3({ url: databaseUrl, timeout: SQLITE_BUSY_TIMEOUT_MS }), lockWaitMs);
  // Starting a transaction includes waiting for the write lock, which Prisma would otherwise cut off after 2 s.
  return new PrismaClient({ adapter, transactionOptions: { maxWait: lockWaitMs + 2_000 } });
}

/** Applies the dialect's pending migrations; the console, the CLI and test fixtures await it before first use. */
export async function prepareDatabase(databaseUrl: string): Promise<void> {
  if (dialectOf(databaseUrl) === 'postgresql') await migratePostgresOnce(databaseUrl);
  else applyMigrations(databaseUrl);
}

/** The dialect of a client createDb made (transactions included: they share the client's provider). */
export function dialectOfDb(db: Db | DbTransaction): 'sqlite' | 'postgresql' {
  return (db as unknown as { _activeProvider?: string })._activeProvider === 'postgresql' ? 'postgresql' : 'sqlite';
}

// One client per process: Next re-evaluates modules in dev, so the instance lives on globalThis.
const holder = globalThis as unknown as { hotplaneDb?: Db };

export function db(): Db {
  holder.hotplaneDb ??= createDb(config().databaseUrl);
  return holder.hotplaneDb;
}

/** db(), once DATABASE_URL's migrations are applied: what start-up code and CLI commands await before first use. */
export async function prepareDb(): Promise<Db> {
  await prepareDatabase(config().databaseUrl);
  return db();
}
