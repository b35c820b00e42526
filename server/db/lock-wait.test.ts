import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createDb, type Db } from './client';
import { holdWriteLock } from '../testing/sqlite-write-lock';
import { databaseLocked, DatabaseLockedError } from './lock-wait';

// The console's database while another process holds its write lock: a transaction that reads before it writes
// (most do) waits for the lock instead of failing at once, the event loop keeps running meanwhile, and a lock held
// past the wait refuses the whole transaction.

let file: string;
let db: Db;

before(() => {
  file = path.join(mkdtempSync(path.join(os.tmpdir(), 'hotplane-lock-wait-')), 'hotplane.db');
  db = createDb(`file:${file}`, { lockWaitMs: 1_500 });
});
after(() => db.$disconnect());

const writeOne = (name: string) =>
  db.$transaction(async (tx) => {
    const before = await tx.module.count();
    await tx.module.create({ data: { name, class: 'business' } });
    return before;
  });

test('a transaction that reads, then writes waits for a lock held elsewhere, without stopping the event loop', async () => {
  const holder = await holdWriteLock(file);
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  let done = false;
  const written = writeOne('waits').then(() => (done = true));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(done, false, 'still waiting while the lock is held');
  assert.ok(ticks > 0, 'timers ran while the transaction waited');
  await holder.release();
  await written;
  clearInterval(ticker);
  assert.equal(await db.module.count({ where: { name: 'waits' } }), 1);
});

test('a lock held past the wait refuses the whole transaction with a clear error, and nothing of it is written', async () => {
  const holder = await holdWriteLock(file);
  try {
    await assert.rejects(writeOne('refused'), (error: unknown) => {
      assert.ok(error instanceof DatabaseLockedError, String(error));
      assert.match(error.message, /^the database is locked by another connection .*: waited \d+\.\d s for its write lock; nothing was written, try again$/);
      return true;
    });
    const single = await db.module.create({ data: { name: 'refused-single', class: 'business' } }).catch((error: unknown) => error);
    assert.match(databaseLocked(single)?.message ?? String(single), /^the database is locked by another connection/, 'a single statement is refused alike');
  } finally {
    await holder.release();
  }
  assert.equal(await db.module.count({ where: { name: { startsWith: 'refused' } } }), 0);
  assert.equal(await writeOne('after'), 1, 'and the database is usable again');
});

test('transactions queued behind others that wait for the lock are refused as locked too, none of them written', async () => {
  const holder = await holdWriteLock(file);
  try {
    // One connection: each waits its turn, then 1.5 s for the lock; Prisma gives up on the last ones after 3.5 s.
    const outcomes = await Promise.all(['queued-1', 'queued-2', 'queued-3', 'queued-4'].map((name) => writeOne(name).catch((error: unknown) => error)));
    for (const outcome of outcomes) assert.match(databaseLocked(outcome)?.message ?? String(outcome), /^the database is locked by another connection/);
    assert.ok(outcomes.some((outcome) => !(outcome instanceof DatabaseLockedError)), 'at least one ran out of its turn in the queue');
  } finally {
    await holder.release();
  }
  assert.equal(await db.module.count({ where: { name: { startsWith: 'queued' } } }), 0);
});
