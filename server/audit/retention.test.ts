// Retention: no path deletes an audit event younger than the retention period.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { testsOnPostgres } from '../testing/test-database';
import { applyAuditRetention } from './retention';
import { appendTestEvents, createTestTrail, SQLITE_ATTACKER, type TestTrail } from './test-support';

const YOUNG = /audit retention: events younger than the retention period \(180 days\) cannot be deleted/;

describe('audit retention', () => {
  let trail: TestTrail;
  before(async () => {
    trail = createTestTrail();
    await appendTestEvents(trail.db, 3);
  });
  after(() => trail.close());

  const count = () => trail.db.auditEvent.count();

  test('attack: deleting a young audit event through raw SQL is refused by retention, even with the append-only trigger dropped', { skip: SQLITE_ATTACKER }, async () => {
    const connection = new Database(trail.dbFile);
    try {
      assert.throws(() => connection.prepare('DELETE FROM "AuditEvent" WHERE seq = 2').run(), YOUNG);
      assert.throws(() => connection.prepare('DELETE FROM "AuditEvent"').run(), YOUNG);
      // A later change that allowed pruning (dropping the blanket trigger) still cannot touch young events.
      connection.exec('DROP TRIGGER "AuditEvent_no_delete"');
      assert.throws(() => connection.prepare('DELETE FROM "AuditEvent" WHERE seq = 2').run(), YOUNG);
    } finally {
      connection.close();
    }
    assert.equal(await count(), 3);
  });

  test('attack: deleting young audit events through Prisma (delete, deleteMany, raw) is refused by retention', async () => {
    const refusals = await Promise.all(
      [trail.db.auditEvent.delete({ where: { seq: 1 } }), trail.db.auditEvent.deleteMany({}), trail.db.$executeRawUnsafe('DELETE FROM "AuditEvent"')].map((operation) =>
        operation.then(
          () => 'deleted',
          (error: { meta?: { driverAdapterError?: { cause?: { originalMessage?: string } } } }) => error.meta?.driverAdapterError?.cause?.originalMessage ?? String(error),
        ),
      ),
    );
    for (const message of refusals) assert.match(message, YOUNG);
    assert.equal(await count(), 3);
  });

  test('a longer period set in the settings is enforced and named; shorter than 180 days is refused', { skip: testsOnPostgres() && 'SQLite file; the PostgreSQL test follows' }, async () => {
    await applyAuditRetention(trail.db, 400);
    await applyAuditRetention(trail.db, 400);
    const connection = new Database(trail.dbFile);
    try {
      // An event dated 300 days ago is past 180 days but within 400.
      connection.exec(`INSERT INTO "AuditEvent" SELECT 99, '${new Date(Date.now() - 300 * 86_400_000).toISOString()}', actorId, actorName, actorRoles, actorKeyFp, action, targetType, targetId, details, prevHash, '${'9'.repeat(64)}' FROM "AuditEvent" WHERE seq = 1`);
      assert.throws(() => connection.prepare('DELETE FROM "AuditEvent" WHERE seq = 99').run(), /retention period \(400 days\) cannot be deleted/);
    } finally {
      connection.close();
    }
    await assert.rejects(applyAuditRetention(trail.db, 30), /at least|≥ 180/);
  });

  test('PostgreSQL: a longer period rewrites the retention function, enforced and named', { skip: !testsOnPostgres() && 'PostgreSQL only' }, async () => {
    await applyAuditRetention(trail.db, 400);
    await applyAuditRetention(trail.db, 400);
    const connection = new pg.Client({ connectionString: trail.databaseUrl });
    await connection.connect();
    try {
      const old = new Date(Date.now() - 300 * 86_400_000).toISOString();
      await connection.query(
        `INSERT INTO "AuditEvent" SELECT 99, $1, "actorId", "actorName", "actorRoles", "actorKeyFp", action, "targetType", "targetId", details, "prevHash", $2 FROM "AuditEvent" WHERE seq = 1`,
        [old, '9'.repeat(64)],
      );
      await assert.rejects(connection.query('DELETE FROM "AuditEvent" WHERE seq = 99'), /retention period \(400 days\) cannot be deleted/);
      await applyAuditRetention(trail.db, 180);
      // Past 180 days the blanket append-only trigger still refuses it.
      await assert.rejects(connection.query('DELETE FROM "AuditEvent" WHERE seq = 99'), /audit events are append-only: DELETE refused/);
    } finally {
      await connection.end();
    }
    await assert.rejects(applyAuditRetention(trail.db, 30), /at least|≥ 180/);
  });
});
