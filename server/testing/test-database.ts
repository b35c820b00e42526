import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startPostgresClusterSync, type PostgresCluster } from './postgres';

// The database tests run on: SQLite by default, PostgreSQL when HOTPLANE_TEST_DATABASE=postgresql (scripts/test.mjs
// runs the database tests a second time so). On PostgreSQL each test process starts one private cluster on first
// use, each fixture gets a fresh database in it, and the cluster is destroyed when the process exits.

export function testsOnPostgres(): boolean {
  return process.env.HOTPLANE_TEST_DATABASE === 'postgresql';
}

let cluster: PostgresCluster | undefined;

function processCluster(): PostgresCluster {
  if (!cluster) {
    const started = startPostgresClusterSync();
    cluster = started;
    process.once('exit', () => started.destroy());
    // A test process stopped by a signal (a timeout, Ctrl-C) removes its cluster too, then dies of the signal.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        started.destroy();
        process.kill(process.pid, signal);
      });
    }
  }
  return cluster;
}

/** This process's private cluster (started on first use), for a caller that stops and restarts it (the fleet proof). */
export function testPostgresCluster(): PostgresCluster {
  return processCluster();
}

/** A fresh database in this process's private PostgreSQL cluster. */
export function freshPostgresDatabase(): string {
  return processCluster().createDatabase(`t_${randomBytes(6).toString('hex')}`);
}

/** The URL of a fresh test database: `sqliteFile` on SQLite, a new database in the private cluster on PostgreSQL. */
export function testDatabaseUrl(sqliteFile: string): string {
  return testsOnPostgres() ? freshPostgresDatabase() : `file:${sqliteFile}`;
}

/** The database a console fixture made in `dataDir`, for a second client on it (a second console replica). */
export function fixtureDatabaseUrl(dataDir: string): string {
  return testsOnPostgres() ? process.env.DATABASE_URL! : `file:${path.join(dataDir, 'hotplane.db')}`;
}
