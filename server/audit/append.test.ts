import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { testsOnPostgres } from '../testing/test-database';
import { SYSTEM_ACTOR } from './actor';
import { appendAuditEvent, type AuditAction } from './append';
import { GENESIS_PREV_HASH, hashAuditEvent, readEventRow } from './chain';
import { appendTestEvents, createTestTrail, TEST_ACTOR, type TestTrail } from './test-support';

describe('appendAuditEvent', () => {
  let trail: TestTrail;
  before(() => {
    trail = createTestTrail();
  });
  after(() => trail.close());

  test('each event links to the one before it, from the genesis', async () => {
    await appendTestEvents(trail.db, 5);
    const rows = await trail.db.auditEvent.findMany({ orderBy: { seq: 'asc' } });
    assert.deepEqual(rows.map((row) => row.seq), [1, 2, 3, 4, 5]);
    let prevHash = GENESIS_PREV_HASH;
    for (const row of rows) {
      assert.equal(row.prevHash, prevHash);
      const read = readEventRow(row);
      assert.ok(read.ok);
      assert.equal(hashAuditEvent(read.content), row.hash);
      prevHash = row.hash;
    }
  });

  test('records the actor as given, roles sorted and de-duplicated, and drops undefined details', async () => {
    const row = await trail.db.$transaction((tx) =>
      appendAuditEvent(tx, {
        actor: { id: 'u-9', name: 'root@example.cn', roles: ['operator', 'admin', 'operator'], keyFingerprint: 'ab'.repeat(32) },
        action: 'user.roles_changed',
        targetType: 'user',
        targetId: 'u-3',
        details: { before: ['auditor'], after: ['approver'], reason: undefined },
      }),
    );
    assert.equal(row.actorRoles, '["admin","operator"]');
    assert.equal(row.actorKeyFp, 'ab'.repeat(32));
    assert.equal(row.details, '{"after":["approver"],"before":["auditor"]}');
    assert.match(row.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  test('an event and the change it records roll back together', async () => {
    const before = await trail.db.auditEvent.count();
    await assert.rejects(
      trail.db.$transaction(async (tx) => {
        await tx.module.create({ data: { name: 'ledger', class: 'business' } });
        await appendAuditEvent(tx, { actor: SYSTEM_ACTOR, action: 'artifact.accepted', targetType: 'module', targetId: 'ledger' });
        throw new Error('the change failed after its event was appended');
      }),
      /the change failed/,
    );
    assert.equal(await trail.db.auditEvent.count(), before);
    assert.equal(await trail.db.module.count(), 0);
  });

  test('concurrent transactions still produce one contiguous chain', async () => {
    const before = await trail.db.auditEvent.count();
    await Promise.all(Array.from({ length: 20 }, () => appendTestEvents(trail.db, 1)));
    const rows = await trail.db.auditEvent.findMany({ where: { seq: { gt: before } }, orderBy: { seq: 'asc' } });
    assert.deepEqual(rows.map((row) => row.seq), Array.from({ length: 20 }, (_, i) => before + i + 1));
    for (let i = 1; i < rows.length; i++) assert.equal(rows[i].prevHash, rows[i - 1].hash);
  });

  test('refuses malformed input before writing anything', async () => {
    const before = await trail.db.auditEvent.count();
    const append = (input: Partial<Parameters<typeof appendAuditEvent>[1]>) =>
      trail.db.$transaction((tx) =>
        appendAuditEvent(tx, { actor: TEST_ACTOR, action: 'artifact.accepted', targetType: 'artifact', targetId: 'x', ...input }),
      );
    await assert.rejects(append({ action: 'Artifact Accepted' as AuditAction }), /not a dotted lower-case name/);
    await assert.rejects(append({ details: { at: new Date() } }), /\$\.at: a Date is not plain JSON/);
    await assert.rejects(append({ details: { ratio: Number.POSITIVE_INFINITY } }), /has no JSON form/);
    await assert.rejects(append({ actor: { id: '', name: 'x', roles: [] } }), /needs an actor/);
    assert.equal(await trail.db.auditEvent.count(), before);
  });
});

describe('append-only triggers', () => {
  let trail: TestTrail;
  before(async () => {
    trail = createTestTrail();
    await appendTestEvents(trail.db, 3);
  });
  after(() => trail.close());

  // Prisma reports a trigger's RAISE(ABORT) as P2003 "Foreign key constraint violated"; the trigger's own
  // words survive only in the driver adapter's cause.
  async function refusal(operation: Promise<unknown>): Promise<string> {
    const error = await operation.then(
      () => assert.fail('the operation was not refused'),
      (caught: { meta?: { driverAdapterError?: { cause?: { originalCode?: string; originalMessage?: string } } } }) => caught,
    );
    const cause = error.meta?.driverAdapterError?.cause;
    // PostgreSQL: P0001, the code of a plpgsql RAISE EXCEPTION.
    assert.equal(cause?.originalCode, testsOnPostgres() ? 'P0001' : 'SQLITE_CONSTRAINT_TRIGGER');
    return cause?.originalMessage ?? '';
  }

  test('refuse UPDATE and DELETE through Prisma', async () => {
    const { auditEvent } = trail.db;
    assert.match(await refusal(auditEvent.update({ where: { seq: 2 }, data: { actorName: 'someone else' } })), /append-only: UPDATE refused/);
    assert.match(await refusal(auditEvent.updateMany({ data: { details: '{}' } })), /append-only: UPDATE refused/);
    // Young events are refused by the retention trigger first (server/audit/retention.test.ts covers old ones).
    assert.match(await refusal(auditEvent.delete({ where: { seq: 3 } })), /retention period \(180 days\) cannot be deleted/);
    assert.match(await refusal(auditEvent.deleteMany({})), /retention period \(180 days\) cannot be deleted/);
    assert.match(await refusal(trail.db.$executeRawUnsafe('UPDATE "AuditEvent" SET hash = hash')), /append-only: UPDATE refused/);
    assert.equal(await auditEvent.count(), 3);
  });

  test('refuse UPDATE and DELETE through a raw SQLite connection', { skip: testsOnPostgres() && 'SQLite file connection; the PostgreSQL test follows' }, () => {
    const connection = new Database(trail.dbFile);
    try {
      assert.throws(() => connection.prepare('UPDATE "AuditEvent" SET targetId = ? WHERE seq = 1').run('x'), /append-only: UPDATE refused/);
      assert.throws(() => connection.prepare('DELETE FROM "AuditEvent" WHERE seq = 1').run(), /retention period \(180 days\) cannot be deleted/);
      assert.equal((connection.prepare('SELECT count(*) AS n FROM "AuditEvent"').get() as { n: number }).n, 3);
    } finally {
      connection.close();
    }
  });

  test('attack: UPDATE, DELETE and TRUNCATE through a raw PostgreSQL connection are refused', { skip: !testsOnPostgres() && 'PostgreSQL only' }, async () => {
    const connection = new pg.Client({ connectionString: trail.databaseUrl });
    await connection.connect();
    try {
      await assert.rejects(connection.query(`UPDATE "AuditEvent" SET "targetId" = 'x' WHERE seq = 1`), /audit events are append-only: UPDATE refused/);
      await assert.rejects(connection.query('DELETE FROM "AuditEvent" WHERE seq = 1'), /retention period \(180 days\) cannot be deleted/);
      await assert.rejects(connection.query('TRUNCATE "AuditEvent"'), /audit events are append-only: TRUNCATE refused/);
      await assert.rejects(connection.query('TRUNCATE "AuditCheckpointRecord"'), /checkpoint records are append-only: TRUNCATE refused/);
      // Dropping the blanket trigger (as a pruning procedure might) still leaves young events to retention.
      await connection.query('DROP TRIGGER "AuditEvent_delete_2_no_delete" ON "AuditEvent"');
      await assert.rejects(connection.query('DELETE FROM "AuditEvent"'), /retention period \(180 days\) cannot be deleted/);
      assert.equal((await connection.query('SELECT count(*)::int AS n FROM "AuditEvent"')).rows[0].n, 3);
    } finally {
      await connection.end();
    }
  });
});
