import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from './generated/client';
import { applyMigrations } from './migrate';
import { config } from '../config';

export type Db = InstanceType<typeof PrismaClient>;
export type DbTransaction = Parameters<Parameters<Db['$transaction']>[0]>[0];

export function createDb(databaseUrl: string): Db {
  applyMigrations(databaseUrl);
  const adapter = new PrismaBetterSqlite3({ url: databaseUrl, timeout: 5000 });
  return new PrismaClient({ adapter });
}

// One client per process: Next re-evaluates modules in dev, so the instance lives on globalThis.
const holder = globalThis as unknown as { hotplaneDb?: Db };

export function db(): Db {
  holder.hotplaneDb ??= createDb(config().databaseUrl);
  return holder.hotplaneDb;
}
