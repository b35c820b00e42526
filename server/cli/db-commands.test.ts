// `hotplane db migrate-to-postgres` on a real console database: the rollout fixture's SQLite file (uploads, an
// approved change request, audit events, checkpoints) copied into a private PostgreSQL cluster by the real CLI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { verifyConsoleTrail } from '../audit/console-trail';
import { appendAuditEvent } from '../audit/append';
import { createDb, type Db } from '../db/client';
import { postgresAvailable } from '../testing/postgres';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { freshPostgresDatabase } from '../testing/test-database';
import { createAuditCheckpointer } from '../audit/checkpoints';

// The source is SQLite by definition, also in the PostgreSQL pass of the tests.
process.env.HOTPLANE_TEST_DATABASE = 'sqlite';

const BIN = path.resolve('bin/hotplane.js');

function cli(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('hotplane db migrate-to-postgres', { skip: !postgresAvailable() && 'needs Debian postgresql and root' }, () => {
  let r: RolloutFixture;
  let from: string;
  let to: string;
  let target: Db;
  let env: Record<string, string>;
  before(async () => {
    r = await createRolloutFixture();
    await createAuditCheckpointer().checkpointNow(r.f.db);
    from = `file:${path.join(r.f.dataDir, 'hotplane.db')}`;
    to = freshPostgresDatabase();
    env = { HOTPLANE_DATA_DIR: r.f.dataDir };
  });
  after(async () => {
    await target?.$disconnect();
    await r.f.db.$disconnect();
  });

  test('copies every table, verifies the audit trail on both sides, and the copy works as a console database', async () => {
    const result = await cli(['db', 'migrate-to-postgres', '--from', from, '--to', to], env);
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /audit trail verified on both sides: events 1\.\.\d+, [1-9]\d* trusted checkpoint/);
    target = createDb(to);
    const source = new Database(from.slice('file:'.length), { readonly: true });
    try {
      for (const table of ['AuditEvent', 'AuditCheckpointRecord', 'ChangeRequest', 'Approval', 'ModuleVersion', 'RolloutPhase', 'user', 'FleetGeneration', 'DesiredModule']) {
        const { n } = source.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number };
        assert.ok(n > 0, `the fixture has ${table} rows`);
        assert.match(result.stdout, new RegExp(`^${table}\\s+${n}$`, 'm'), `${table}: ${n} rows copied`);
      }
    } finally {
      source.close();
    }
    const [original, copy] = await Promise.all([r.f.db.changeRequest.findFirstOrThrow({ include: { approvals: true } }), target.changeRequest.findFirstOrThrow({ include: { approvals: true } })]);
    assert.deepEqual(copy, original, 'the change request and its approval, dates and booleans included');
    assert.deepEqual(await target.fleetGeneration.findMany(), await r.f.db.fleetGeneration.findMany());
    const verdict = await verifyConsoleTrail(target);
    assert.ok(verdict.ok, JSON.stringify(verdict.problems));
    // New rows continue the chain and the autoincrement ids after the copied ones.
    const head = await target.auditEvent.findFirstOrThrow({ orderBy: { seq: 'desc' } });
    const appended = await target.$transaction((tx) => appendAuditEvent(tx, { actor: r.f.actor, action: 'audit.verified', targetType: 'audit-trail', targetId: 'console' }));
    assert.equal(appended.seq, head.seq + 1);
    assert.equal(appended.prevHash, head.hash);
    const phase = await target.rolloutPhase.create({ data: { changeRequestId: copy.id, kind: 'test', startedAt: new Date(), detail: '' } });
    assert.ok(phase.id > (await r.f.db.rolloutPhase.aggregate({ _max: { id: true } }))._max.id!);
  });

  test('refuses a target that already holds data, naming what is there, and changes nothing', async () => {
    const events = await target.auditEvent.count();
    const result = await cli(['db', 'migrate-to-postgres', '--from', from, '--to', to], env);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /is not empty: .*AuditEvent \(\d+ rows\).*create one \(createdb hotplane\)/);
    assert.equal(await target.auditEvent.count(), events);
  });

  test('attack: a password on the command line is refused before anything connects', async () => {
    const result = await cli(['db', 'migrate-to-postgres', '--from', from, '--to', to.replace('postgres@', 'postgres:secret@')], env);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /carries a password.*PGPASSWORD or ~\/\.pgpass/);
  });
});
