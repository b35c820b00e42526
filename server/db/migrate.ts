import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ensurePrivateFile, PRIVATE_DIR_MODE } from '../secrets-at-rest';
import Database from 'better-sqlite3';
import { projectRoot } from '../paths';

// Prisma's migration engine cannot be downloaded on every machine we run on, so the console applies
// prisma/migrations itself and records them exactly as `prisma migrate deploy` would (same table, same
// checksum), which keeps `prisma migrate status` truthful wherever the engine exists.

export function migrationsDir(): string {
  return path.join(projectRoot(), 'prisma', 'migrations');
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

export function sqliteFileFromUrl(url: string): string {
  if (!url.startsWith('file:')) {
    throw new Error(`DATABASE_URL=${url} is not a SQLite file URL; use file:/path/to/hotplane.db`);
  }
  return path.resolve(url.slice('file:'.length));
}

export function listMigrations(dir = migrationsDir()): { name: string; sql: string; checksum: string }[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/**
 * The migrations of `dir` not yet recorded as applied (`done`: rows of `_prisma_migrations`), in order. An applied
 * migration whose file changed since is refused: history is added to, never edited.
 */
export function pendingMigrations(done: readonly { migration_name: string; checksum: string }[], dir: string) {
  const doneByName = new Map(done.map((row) => [row.migration_name, row.checksum]));
  return listMigrations(dir).filter((migration) => {
    const recorded = doneByName.get(migration.name);
    if (recorded === undefined) return true;
    if (recorded !== migration.checksum) {
      throw new Error(`migration ${migration.name} was edited after it was applied (checksum differs); add a new migration instead of changing an applied one`);
    }
    return false;
  });
}

export function applyMigrations(databaseUrl: string, dir = migrationsDir()): MigrationResult {
  const file = sqliteFileFromUrl(databaseUrl);
  // SQLite gives the -wal and -shm files the mode of the database file: 0600 here keeps all three private.
  mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  ensurePrivateFile(file);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" TEXT PRIMARY KEY NOT NULL,
      "checksum" TEXT NOT NULL,
      "finished_at" DATETIME,
      "migration_name" TEXT NOT NULL,
      "logs" TEXT,
      "rolled_back_at" DATETIME,
      "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
      "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0
    )`);
    const done = db
      .prepare(`SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`)
      .all() as { migration_name: string; checksum: string }[];
    const applied: string[] = [];
    for (const migration of pendingMigrations(done, dir)) {
      const now = new Date().toISOString();
      db.transaction(() => {
        db.exec(migration.sql);
        db.prepare(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
           VALUES (?, ?, ?, ?, ?, 1)`,
        ).run(randomUUID(), migration.checksum, new Date().toISOString(), migration.name, now);
      })();
      applied.push(migration.name);
    }
    return { applied, alreadyApplied: done.length };
  } finally {
    db.close();
  }
}
