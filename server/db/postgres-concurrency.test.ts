// What SQLite's single writer gives for free must hold on PostgreSQL with several console processes: one linear
// audit chain and a generation counter that neither skips nor repeats. Two clients with separate pools stand in
// for two processes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { appendAuditEvent } from '../audit/append';
import { createTestTrail, TEST_ACTOR, type TestTrail } from '../audit/test-support';
import { verifyAuditTrail } from '../audit/verify';
import { readDesiredState, replaceDesiredModule } from '../fleet/desired-state';
import { postgresAvailable } from '../testing/postgres';
import { freshPostgresDatabase } from '../testing/test-database';
import { DomainErrorCode } from '../errors';
import { createDb, prepareDatabase, type Db } from './client';
import { CONFLICT_ATTEMPTS, WriteConflictError } from './postgres-client';

describe('PostgreSQL: concurrent console processes', { skip: !postgresAvailable() && 'needs Debian postgresql and root' }, () => {
  let trail: TestTrail;
  let other: Db;
  before(async () => {
    const databaseUrl = freshPostgresDatabase();
    await prepareDatabase(databaseUrl);
    trail = createTestTrail({ databaseUrl });
    other = createDb(databaseUrl);
  });
  after(async () => {
    await other.$disconnect();
    await trail.close();
  });

  test('200 audit events appended at once by two clients form one linear, verifiable chain', async () => {
    const append = (db: Db, i: number) =>
      db.$transaction((tx) => appendAuditEvent(tx, { actor: TEST_ACTOR, action: 'artifact.accepted', targetType: 'artifact', targetId: `a${i}`, details: { i } }));
    const started = Date.now();
    await Promise.all(Array.from({ length: 200 }, (_, i) => append(i % 2 === 0 ? trail.db : other, i)));
    const elapsedMs = Date.now() - started;
    const rows = await trail.db.auditEvent.findMany({ orderBy: { seq: 'asc' }, select: { seq: true, targetId: true } });
    assert.deepEqual(rows.map((row) => row.seq), Array.from({ length: 200 }, (_, i) => i + 1));
    assert.equal(new Set(rows.map((row) => row.targetId)).size, 200, 'every append landed once');
    await trail.checkpointer.checkpointNow(trail.db);
    const verdict = await verifyAuditTrail(trail.db, { checkpointFile: trail.checkpointFile, publicKey: trail.checkpointer.publicKey().pem });
    assert.equal(verdict.firstBadSeq, null, JSON.stringify(verdict.problems));
    assert.equal(verdict.eventsChecked, 200);
    assert.ok(verdict.ok, JSON.stringify(verdict.problems));
    console.log(`200 concurrent appends from two pools: ${elapsedMs} ms`);
  });

  test('concurrent desired-state changes from two clients raise the generation once each, in order', async () => {
    const { generation: start } = await trail.db.$transaction((tx) => readDesiredState(tx));
    const change = (db: Db, i: number) =>
      db.$transaction((tx) => replaceDesiredModule(tx, `m${i % 4}`, { module: `m${i % 4}`, versions: [{ version: `1.0.${i}`, sm3: 'ab'.repeat(32), weight: 100, isolation: 'inproc' }] }, 'test'));
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => change(i % 2 === 0 ? trail.db : other, i)));
    const generations = results.map((result) => result.generation).sort((a, b) => a - b);
    assert.deepEqual(generations, Array.from({ length: 40 }, (_, i) => start + i + 1), 'each change got its own generation, none skipped');
    // Serialised, each change saw the one before it on its module as its `before` (none read a stale state).
    const lastOf = new Map<string, string>();
    for (const result of [...results].sort((a, b) => a.generation - b.generation)) {
      const name = result.after!.module;
      assert.equal(result.before?.versions[0].version, lastOf.get(name), `generation ${result.generation}: ${name} changed from what it was`);
      lastOf.set(name, result.after!.versions[0].version);
    }
    const state = await other.$transaction((tx) => readDesiredState(tx));
    assert.equal(state.generation, start + 40);
    assert.equal(state.modules.length, 4);
  });

  test('a deadlock between two clients is retried: both transactions commit', async () => {
    await trail.db.module.createMany({ data: [{ name: 'dl-a', class: 'business' }, { name: 'dl-b', class: 'business' }] });
    let attempts = 0;
    let arrived = 0;
    let bothHoldOne: () => void = () => undefined;
    const barrier = new Promise<void>((resolve) => (bothHoldOne = resolve));
    const cross = (db: Db, first: string, second: string) =>
      db.$transaction(async (tx) => {
        attempts += 1;
        await tx.module.update({ where: { name: first }, data: { class: `by-${first}` } });
        if (++arrived === 2) bothHoldOne();
        await barrier;
        await tx.module.update({ where: { name: second }, data: { class: `by-${first}` } });
      });
    await Promise.all([cross(trail.db, 'dl-a', 'dl-b'), cross(other, 'dl-b', 'dl-a')]);
    assert.equal(attempts, 3, 'PostgreSQL aborted one of the two, which ran again');
    const rows = await trail.db.module.findMany({ where: { name: { in: ['dl-a', 'dl-b'] } } });
    assert.equal(new Set(rows.map((row) => row.class)).size, 1, 'the retried one committed last, whole');
  });

  test('a transaction that keeps losing conflicts is refused as unavailable (503) after a bounded number of tries', async () => {
    let attempts = 0;
    const conflict = Object.assign(new Error('could not serialize access due to concurrent update'), { code: 'P2034' });
    await assert.rejects(
      trail.db.$transaction(async () => {
        attempts += 1;
        throw conflict;
      }),
      (error: unknown) => error instanceof WriteConflictError && error.code === DomainErrorCode.Unavailable && /nothing was written, try again/.test(error.message),
    );
    assert.equal(attempts, CONFLICT_ATTEMPTS);
  });
});
