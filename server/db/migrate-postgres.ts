import { randomUUID } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { projectRoot } from '../paths';
import { pendingMigrations, type MigrationResult } from './migrate';

// PostgreSQL's migrations: one baseline covering the schema as the SQLite history had built it, then one folder
// per later change. Applied and recorded like server/db/migrate.ts does for SQLite (Prisma's _prisma_migrations,
// SHA-256 checksums), each in its own transaction, under an advisory lock so consoles starting together on one
// database apply each migration once.

export function postgresMigrationsDir(): string {
  return path.join(projectRoot(), 'prisma', 'migrations-postgresql');
}

// Any constant both sides agree on; only migrate runners take it.
const MIGRATION_LOCK = 72_707_001;

export async function applyPostgresMigrations(databaseUrl: string, dir = postgresMigrationsDir()): Promise<MigrationResult> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
    const done = await client.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const applied: string[] = [];
    for (const migration of pendingMigrations(done.rows, dir)) {
      const started = new Date();
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ($1, $2, now(), $3, $4, 1)`,
          [randomUUID(), migration.checksum, migration.name, started],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`PostgreSQL migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(migration.name);
    }
    return { applied, alreadyApplied: done.rows.length };
  } finally {
    await client.end();
  }
}
