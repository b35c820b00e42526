// Secrets at rest, tried as another user of the machine: the sandbox's nobody (which the embedded host runs as
// when the console is root) reads none of the console's files, whether or not it can get into the data folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { loadOrCreateConsoleKey } from './audit/console-key.ts';
import { loadConfig } from './config.ts';
import { createDb, type Db } from './db/client.ts';
import { EmbeddedHostSupervisor } from './fleet/embedded-host.ts';
import { SANDBOX_GID, SANDBOX_UID } from './host/sandbox.ts';
import { consoleFilesOf, consoleSecretFiles, secureConsoleFiles } from './secrets-at-rest.ts';
import { waitFor } from './testing/wait-for.ts';

const asRoot = process.getuid?.() === 0;
const needsRoot = { skip: !asRoot && 'needs root (runs another user)' };

let base: string;
let dataDir: string;
let secrets: string[];
let db: Db;
let openDatabase: Database.Database;

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

before(() => {
  // The folder above the data folder is open to everyone, so only the data folder's own modes protect it.
  base = mkdtempSync(path.join(os.tmpdir(), 'hotplane-at-rest-'));
  chmodSync(base, 0o755);
  dataDir = path.join(base, 'data');
  const settings = loadConfig({ HOTPLANE_DATA_DIR: dataDir } as unknown as NodeJS.ProcessEnv);
  db = createDb(settings.databaseUrl);
  loadOrCreateConsoleKey(settings.consoleKeyFile);
  writeFileSync(path.join(dataDir, 'auth-secret'), 'f'.repeat(64), { mode: 0o600 });
  // A writer holding the database open, as the console does: its -wal and -shm exist.
  openDatabase = new Database(path.join(dataDir, 'hotplane.db'));
  openDatabase.exec('CREATE TABLE IF NOT EXISTS "at_rest_probe" ("x" INTEGER); INSERT INTO "at_rest_probe" VALUES (1);');
  secrets = consoleSecretFiles(consoleFilesOf(settings));
});

after(async () => {
  openDatabase.close();
  await db.$disconnect();
  rmSync(base, { recursive: true, force: true });
});

function readAsNobody(file: string): { status: number | null; stderr: string } {
  const result = spawnSync('runuser', ['-u', 'nobody', '--', 'cat', file], { encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr };
}

test('the data folder is 0700 and the database, its -wal and -shm, the auth secret and the signing key are 0600', () => {
  assert.equal(mode(dataDir), '700');
  for (const file of secrets) {
    assert.ok(existsSync(file), `${file} exists`);
    assert.equal(mode(file), '600', file);
  }
});

test('attack: another user (nobody) reads none of the console secrets, even with the data folder opened for traversal', needsRoot, () => {
  for (const file of secrets) {
    const denied = readAsNobody(file);
    assert.notEqual(denied.status, 0, `${file} was read`);
    assert.match(denied.stderr, /Permission denied/, file);
  }
  // Each layer on its own: a folder someone made traversable still leaves every file 0600.
  chmodSync(dataDir, 0o711);
  try {
    for (const file of secrets) {
      const denied = readAsNobody(file);
      assert.notEqual(denied.status, 0, `${file} was read through a traversable folder`);
      assert.match(denied.stderr, /Permission denied/, file);
    }
  } finally {
    chmodSync(dataDir, 0o700);
  }
});

test('only the data folder itself is private: parents created for it stay traversable, so the host user reaches its own folder beside it', () => {
  const nested = path.join(base, 'fresh', 'parents', 'data');
  secureConsoleFiles(consoleFilesOf(loadConfig({ HOTPLANE_DATA_DIR: nested } as unknown as NodeJS.ProcessEnv)));
  assert.equal(mode(nested), '700');
  for (const parent of [path.join(base, 'fresh'), path.join(base, 'fresh', 'parents')]) {
    assert.equal(statSync(parent).mode & 0o011, 0o011, `${parent} is ${mode(parent)}: others could not reach a folder beside the data folder`);
  }
});

test('an older install left readable by others is narrowed at start, and each fix is named', () => {
  chmodSync(dataDir, 0o755);
  chmodSync(path.join(dataDir, 'auth-secret'), 0o644);
  const fixed = secureConsoleFiles(consoleFilesOf(loadConfig({ HOTPLANE_DATA_DIR: dataDir } as unknown as NodeJS.ProcessEnv)));
  assert.deepEqual(fixed, [`${dataDir} 755 → 700`, `${path.join(dataDir, 'auth-secret')} 644 → 600`]);
  assert.equal(mode(dataDir), '700');
  assert.equal(mode(path.join(dataDir, 'auth-secret')), '600');
});

// A stand-in for the host program records what it can reach: who it runs as, its environment, the console's
// secrets (the paths the supervisor gives it) and its own folder.
const STAND_IN = `
import { readFileSync, writeFileSync } from 'node:fs';
const args = process.argv.slice(2);
const flag = (name) => args[args.indexOf(name) + 1];
const secrets = args.flatMap((a, i) => (a === '--console-secret' ? [args[i + 1]] : []));
const tried = Object.fromEntries(secrets.map((file) => {
  try { readFileSync(file); return [file, 'read']; } catch (error) { return [file, error.code]; }
}));
writeFileSync(flag('--data') + '/probe.json', JSON.stringify({ uid: process.getuid(), gid: process.getgid(), env: Object.keys(process.env), tried, argv: args }));
setInterval(() => {}, 1000);
`;

test('attack: the embedded host runs as nobody from its own folder, with none of the console environment, and cannot read any console secret', needsRoot, async (t) => {
  const entry = path.join(base, 'stand-in-host.mjs');
  writeFileSync(entry, STAND_IN, { mode: 0o644 });
  const hostDir = path.join(base, 'data-host');
  const saved = process.env.BETTER_AUTH_SECRET;
  process.env.BETTER_AUTH_SECRET = 'console-only-secret';
  t.after(() => {
    if (saved === undefined) delete process.env.BETTER_AUTH_SECRET;
    else process.env.BETTER_AUTH_SECRET = saved;
  });
  const supervisor = await new EmbeddedHostSupervisor({
    db, hostDir, projectRoot: process.cwd(), fleetPort: 1, caCertificatePem: 'CA', hostPort: 2, log: () => {}, entry,
    runAs: { uid: SANDBOX_UID, gid: SANDBOX_GID },
    consoleSecrets: secrets,
  }).start();
  t.after(() => supervisor.stop());
  const probeFile = path.join(hostDir, 'probe.json');
  await waitFor('the stand-in host to report', () => existsSync(probeFile), { timeoutMs: 15_000 });
  const probe = JSON.parse(readFileSync(probeFile, 'utf8')) as { uid: number; gid: number; env: string[]; tried: Record<string, string> };
  assert.deepEqual([probe.uid, probe.gid], [SANDBOX_UID, SANDBOX_GID]);
  assert.deepEqual(Object.keys(probe.tried).sort(), [...secrets].sort(), 'the host was told which files are the console secrets');
  for (const file of secrets) assert.equal(probe.tried[file], 'EACCES', `${file}: ${probe.tried[file]}`);
  assert.ok(!probe.env.includes('BETTER_AUTH_SECRET'), 'the console environment stays with the console');
  assert.ok(!probe.env.includes('HOTPLANE_DATA_DIR'));
  assert.equal(statSync(hostDir).uid, SANDBOX_UID, 'the host folder, join token included, belongs to the host user');
  assert.equal(statSync(path.join(hostDir, 'join-token')).uid, SANDBOX_UID);
  assert.equal(mode(path.join(hostDir, 'join-token')), '600');
  assert.equal(mode(hostDir), '700');
  assert.ok(!hostDir.startsWith(`${dataDir}${path.sep}`), 'the host folder is not inside the console data folder');
});
