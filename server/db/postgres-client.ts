import { PrismaPg } from '@prisma/adapter-pg';
import { DomainError, DomainErrorCode } from '../errors';
import type { MigrationResult } from './migrate';
import { applyPostgresMigrations } from './migrate-postgres';
import { PrismaClient as PostgresPrismaClient } from './generated-pg/client';
import type { Db } from './client';

// The console on PostgreSQL: Prisma's pg adapter over its own pool. Migrations are asynchronous here, so the
// client waits for them (once per URL and process) before its first query; `prepareDatabase` awaits the same
// promise at start-up so that a failing migration stops the console there, by name.

const POOL_SIZE = 10;
/** How many times a transaction that lost a serialization or deadlock conflict is run again before it is refused. */
export const CONFLICT_ATTEMPTS = 5;

const migrations = new Map<string, Promise<MigrationResult>>();

export function migratePostgresOnce(databaseUrl: string): Promise<MigrationResult> {
  let pending = migrations.get(databaseUrl);
  if (!pending) {
    pending = applyPostgresMigrations(databaseUrl);
    migrations.set(databaseUrl, pending);
    // A failed attempt (the server was not up yet) must not stick: the next caller tries again.
    pending.catch(() => migrations.delete(databaseUrl));
  }
  return pending;
}

/** A transaction PostgreSQL aborted for a concurrent one (40001 serialization failure, 40P01 deadlock). */
export function isWriteConflict(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'P2034';
}

export class WriteConflictError extends DomainError {
  constructor(attempts: number) {
    super(
      DomainErrorCode.Unavailable,
      `the database refused this change ${attempts} times because concurrent changes conflicted with it (serialization failure): nothing was written, try again`,
    );
  }
}

export function createPostgresDb(databaseUrl: string, options: { lockWaitMs: number }): Db {
  const factory = new PrismaPg({ connectionString: databaseUrl, max: POOL_SIZE });
  const adapter = new Proxy(factory, {
    get(target, property) {
      if (property === 'connect') {
        return async () => {
          await migratePostgresOnce(databaseUrl);
          return target.connect();
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const client = new PostgresPrismaClient({ adapter, transactionOptions: { maxWait: options.lockWaitMs + 2_000 } });
  // Both clients are generated from one schema, so their model APIs are the same: the rest of the code keeps one Db type.
  return retryingConflicts(client as unknown as Db);
}

// An interactive transaction that lost a conflict wrote nothing, so running it again is safe; the console's
// transactions touch nothing outside the database before they commit.
function retryingConflicts(db: Db): Db {
  const transaction = db.$transaction.bind(db) as (...args: unknown[]) => Promise<unknown>;
  const retried = async (...args: unknown[]) => {
    if (typeof args[0] !== 'function') return transaction(...args);
    for (let attempt = 1; ; attempt++) {
      try {
        return await transaction(...args);
      } catch (error) {
        if (!isWriteConflict(error)) throw error;
        if (attempt >= CONFLICT_ATTEMPTS) throw new WriteConflictError(attempt);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  };
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === '$transaction') return retried;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}
