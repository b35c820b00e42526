import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createDb, prepareDatabase, type DbTransaction } from '../db/client';
import { startPostgresCluster, type PostgresCluster } from '../testing/postgres';
import { waitFor } from '../testing/wait-for';
import { InProcessBus, PostgresBus, type ClusterEvent } from './bus';

const noTx = {} as DbTransaction;

describe('cluster bus in process (SQLite)', () => {
  it('delivers a published event to every subscriber of its channel, with its origin', async () => {
    const bus = new InProcessBus('replica-a');
    const seen: ClusterEvent[] = [];
    bus.subscribe('host_revoked', (e) => seen.push(e));
    bus.subscribe('desired_changed', () => seen.push({ origin: 'wrong channel' }));
    await bus.publish(noTx, 'host_revoked', { hostId: 'h1', serials: ['01'] });
    await waitFor('delivery', () => seen.length === 1);
    assert.deepEqual(seen, [{ hostId: 'h1', serials: ['01'], origin: 'replica-a' }]);
  });

  it('refuses an unknown channel and an event too large for NOTIFY, naming the fix', async () => {
    const bus = new InProcessBus('replica-a');
    await assert.rejects(bus.announce('nope' as 'host_revoked'), /unknown cluster channel "nope": use one of desired_changed/);
    await assert.rejects(bus.announce('metrics_arrived', { blob: 'x'.repeat(5_000) }), /over 4000: send ids, not contents/);
  });
});

describe('cluster bus on PostgreSQL (LISTEN/NOTIFY)', () => {
  let cluster: PostgresCluster;
  let pool: pg.Pool;
  const buses: PostgresBus[] = [];
  const bus = (replica: string) => {
    const b = new PostgresBus(cluster.url('bus'), (channel, text) => pool.query('SELECT pg_notify($1, $2)', [channel, text]), replica, () => undefined);
    buses.push(b);
    return b;
  };

  before(async () => {
    cluster = await startPostgresCluster();
    cluster.createDatabase('bus');
    pool = new pg.Pool({ connectionString: cluster.url('bus') });
  });

  after(async () => {
    for (const b of buses) await b.close();
    await pool?.end();
    cluster?.destroy();
  });

  it('an event sent by one replica reaches both; one sent inside a transaction arrives only after its commit, never after a rollback', async () => {
    const a = bus('replica-a');
    const b = bus('replica-b');
    await Promise.all([a.ready, b.ready]);
    const atA: ClusterEvent[] = [];
    const atB: ClusterEvent[] = [];
    a.subscribe('host_revoked', (e) => atA.push(e));
    b.subscribe('host_revoked', (e) => atB.push(e));
    await a.announce('host_revoked', { hostId: 'h1', serials: ['0a'] });
    await waitFor('both replicas to hear it', () => atA.length === 1 && atB.length === 1);
    assert.deepEqual(atB[0], { hostId: 'h1', serials: ['0a'], origin: 'replica-a' });

    const writer = await pool.connect();
    try {
      await writer.query('BEGIN');
      await writer.query("SELECT pg_notify('hotplane_host_revoked', $1)", [JSON.stringify({ hostId: 'h2', origin: 'replica-a' })]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(atB.length, 1, 'nothing arrives before the commit');
      await writer.query('COMMIT');
      await waitFor('the committed event', () => atB.length === 2);
      await writer.query('BEGIN');
      await writer.query("SELECT pg_notify('hotplane_host_revoked', $1)", [JSON.stringify({ hostId: 'h3', origin: 'replica-a' })]);
      await writer.query('ROLLBACK');
    } finally {
      writer.release();
    }
    await a.announce('host_revoked', { hostId: 'h4' });
    await waitFor('the next event', () => atB.length === 3);
    assert.deepEqual(atB.map((e) => e.hostId), ['h1', 'h2', 'h4'], 'the rolled-back event never arrived');
  });

  it('an event published inside a Prisma transaction is delivered after its commit, never for a rollback', async () => {
    const url = cluster.createDatabase('bus_prisma');
    await prepareDatabase(url);
    const db = createDb(url);
    const notifier = new pg.Pool({ connectionString: url });
    const make = (replica: string) => {
      const b = new PostgresBus(url, (channel, text) => notifier.query('SELECT pg_notify($1, $2)', [channel, text]), replica, () => undefined);
      buses.push(b);
      return b;
    };
    const a = make('replica-a');
    const b = make('replica-b');
    await b.ready;
    const atB: ClusterEvent[] = [];
    b.subscribe('desired_changed', (e) => atB.push(e));
    try {
      await db.$transaction(async (tx) => {
        await a.publish(tx, 'desired_changed', { generation: 1 });
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(atB.length, 0, 'nothing before the commit');
      });
      await waitFor('the committed event', () => atB.length === 1);
      await assert.rejects(
        db.$transaction(async (tx) => {
          await a.publish(tx, 'desired_changed', { generation: 2 });
          throw new Error('the writer fails');
        }),
        /the writer fails/,
      );
      await a.announce('desired_changed', { generation: 3 });
      await waitFor('the next event', () => atB.length === 2);
      assert.deepEqual(atB.map((e) => e.generation), [1, 3]);
    } finally {
      await db.$disconnect();
      await notifier.end();
    }
  });

  it('the listener reconnects after its connection dies and tells subscribers to re-read', async () => {
    const a = bus('replica-a');
    const b = bus('replica-b');
    await Promise.all([a.ready, b.ready]);
    const atB: ClusterEvent[] = [];
    b.subscribe('desired_changed', (e) => atB.push(e));
    b.dropConnection();
    await waitFor('the resync after the reconnect', () => atB.some((e) => e.resync), { timeoutMs: 10_000 });
    assert.equal(b.reconnects, 1);
    await a.announce('desired_changed', { generation: 7 });
    await waitFor('an event after the reconnect', () => atB.some((e) => e.generation === 7));
  });
});
