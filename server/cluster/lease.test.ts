import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createDb, prepareDatabase, type Db } from '../db/client';
import { testDatabaseUrl } from '../testing/test-database';
import { waitFor } from '../testing/wait-for';
import { startLeaderRoles } from './leader-roles';
import { LeaderLease, StaleLeaderError } from './lease';

// Two replicas are two Db clients on one database (SQLite file, or PostgreSQL with HOTPLANE_TEST_DATABASE=postgresql), each with its own lease object; time is driven by hand.

async function replicas() {
  const url = testDatabaseUrl(path.join(mkdtempSync(path.join(os.tmpdir(), 'hotplane-lease-')), 'hotplane.db'));
  await prepareDatabase(url);
  return [createDb(url), createDb(url)] as const;
}

function lease(db: Db, replica: string, clock: { now: number }, events: string[] = []) {
  return new LeaderLease({
    db,
    name: 'rollout-engine',
    replica,
    ttlMs: 3_000,
    renewMs: 1_000,
    now: () => clock.now,
    onGain: (epoch) => void events.push(`${replica} gains ${epoch}`),
    onLoss: (epoch) => void events.push(`${replica} loses ${epoch}`),
  });
}

const elections = (db: Db) =>
  db.auditEvent.findMany({ where: { action: 'cluster.leader_elected' }, orderBy: { seq: 'asc' } }).then((rows) => rows.map((r) => JSON.parse(r.details) as { replica: string; epoch: number }));

describe('leader lease', () => {
  it('one of two replicas leads; the other takes over only once the lease expired, with a higher epoch, each election audited once', async () => {
    const [dbA, dbB] = await replicas();
    const clock = { now: Date.parse('2026-12-05T00:00:00Z') };
    const events: string[] = [];
    const a = lease(dbA, 'A', clock, events);
    const b = lease(dbB, 'B', clock, events);
    await Promise.all([a.beat(), b.beat()]);
    assert.equal([a.epoch, b.epoch].filter((e) => e === 1).length, 1, 'exactly one leads');
    const [leader, follower] = a.epoch === 1 ? [a, b] : [b, a];
    clock.now += 2_500;
    await leader.beat();
    await follower.beat();
    assert.equal(follower.epoch, null, 'a renewed lease is not taken');
    clock.now += 3_001;
    await follower.beat();
    assert.equal(follower.epoch, 2, 'an expired lease is taken over');
    await leader.beat();
    assert.equal(leader.epoch, null, 'the old leader finds out at its next beat and stops');
    assert.deepEqual((await elections(dbA)).map((e) => e.epoch), [1, 2]);
    assert.deepEqual(events.slice(-2).map((e) => e.split(' ').slice(1).join(' ')), ['gains 2', 'loses 1']);
  });

  it('attack: a paused old leader that wakes after a takeover cannot commit a fenced write', async () => {
    const [dbA, dbB] = await replicas();
    const clock = { now: Date.parse('2026-12-05T00:00:00Z') };
    const a = lease(dbA, 'A', clock);
    const b = lease(dbB, 'B', clock);
    await a.beat();
    assert.equal(a.epoch, 1);
    clock.now += 4_000; // A is paused: no renewal
    await b.beat();
    assert.equal(b.epoch, 2);
    // A still believes it leads at epoch 1 and writes a step in a fenced transaction.
    await assert.rejects(
      dbA.$transaction(async (tx) => {
        await a.fence(tx);
        await tx.clusterClaim.create({ data: { key: 'step-written-by-A', owner: 'A', expiresAt: new Date(clock.now) } });
      }),
      (error: Error) => error instanceof StaleLeaderError && /no longer holds the rollout-engine lease of epoch 1/.test(error.message),
    );
    assert.equal(await dbA.clusterClaim.count(), 0, 'nothing of the stale write was kept');
    await dbB.$transaction((tx) => b.fence(tx));
  });

  it('a replica that resigns hands over at once, audited', async () => {
    const [dbA, dbB] = await replicas();
    const clock = { now: Date.parse('2026-12-05T00:00:00Z') };
    const a = lease(dbA, 'A', clock);
    const b = lease(dbB, 'B', clock);
    await a.beat();
    await a.stop({ resign: true });
    await b.beat();
    assert.equal(b.epoch, 2);
    assert.equal(await dbB.auditEvent.count({ where: { action: 'cluster.leader_resigned' } }), 1);
  });

  it('leader roles start on the replica that gains the lease and stop on the one that gives it up', async () => {
    const [dbA, dbB] = await replicas();
    const events: string[] = [];
    const roles = (replica: string) => [{ name: 'engine', start: () => (events.push(`${replica} started`), { stop: async (how: string) => void events.push(`${replica} stopped (${how})`) }) }];
    const a = startLeaderRoles({ db: dbA, replica: 'A', roles: roles('A'), log: () => undefined });
    await waitFor('A to lead', () => a.epoch === 1);
    const b = startLeaderRoles({ db: dbB, replica: 'B', roles: roles('B'), log: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    assert.deepEqual(events, ['A started'], 'the follower runs nothing');
    await a.stop({ resign: true });
    await waitFor('B to lead', () => b.epoch === 2, { timeoutMs: 5_000 });
    await b.stop();
    assert.deepEqual(events, ['A started', 'A stopped (stopping)', 'B started', 'B stopped (stopping)']);
  });
});
