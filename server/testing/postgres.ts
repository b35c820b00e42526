import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './processes';

// A private PostgreSQL cluster for tests, proofs and benches: Debian's binaries, run as the `postgres` user on a
// free loopback port in a temporary folder, never the system cluster on 5432 (../shared/ENVIRONMENT.md).

export const POSTGRES_BIN = process.env.HOTPLANE_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresCluster {
  port: number;
  folder: string;
  /** postgresql://postgres@127.0.0.1:<port>/<database> */
  url(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): string;
  /** Stops the server (fast shutdown); `restart` starts it again on the same port and folder. */
  stop(): void;
  start(): void;
  /** Stops the server and removes its folder. */
  destroy(): void;
}

export function postgresAvailable(): boolean {
  return existsSync(path.join(POSTGRES_BIN, 'initdb')) && process.getuid?.() === 0;
}

function asPostgres(args: string[], options: { quiet?: boolean } = {}) {
  return execFileSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: options.quiet ? 'pipe' : ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  return launchCluster(await freePort());
}

/** The same, for callers that cannot wait (a test database URL asked for synchronously): the port is found by a child. */
export function startPostgresClusterSync(): PostgresCluster {
  const port = Number(
    execFileSync(process.execPath, ['-e', "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })"], { encoding: 'utf8' }),
  );
  return launchCluster(port);
}

function launchCluster(port: number): PostgresCluster {
  if (!postgresAvailable()) {
    throw new Error(`PostgreSQL tests need Debian's postgresql package (${POSTGRES_BIN}/initdb) and root to run it as the postgres user: apt-get install -y postgresql`);
  }
  const folder = mkdtempSync(path.join(os.tmpdir(), 'hotplane-pg-'));
  chmodSync(folder, 0o700);
  execFileSync('chown', ['postgres', folder]);
  const data = path.join(folder, 'cluster');
  asPostgres([path.join(POSTGRES_BIN, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], { quiet: true });
  const start = () =>
    asPostgres(
      [path.join(POSTGRES_BIN, 'pg_ctl'), '-D', data, '-o', `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`, '-l', path.join(folder, 'pg.log'), '-w', 'start'],
      { quiet: true },
    );
  const stop = () => asPostgres([path.join(POSTGRES_BIN, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop'], { quiet: true });
  start();
  const url = (database: string) => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  let running = true;
  return {
    port,
    folder,
    url,
    createDatabase(name) {
      asPostgres([path.join(POSTGRES_BIN, 'psql'), '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-qAtc', `CREATE DATABASE "${name}"`], { quiet: true });
      return url(name);
    },
    stop() {
      if (running) stop();
      running = false;
    },
    start() {
      if (!running) start();
      running = true;
    },
    destroy() {
      try {
        if (running) stop();
      } finally {
        running = false;
        rmSync(folder, { recursive: true, force: true });
      }
    },
  };
}
