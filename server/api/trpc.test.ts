import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TRPCError } from '@trpc/server';
import type { SessionUser } from '../auth/session';
import { createDb, type Db } from '../db/client';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { testsOnPostgres } from '../testing/test-database';
import { holdWriteLock } from '../testing/sqlite-write-lock';
import { appRouter } from './root';
import { createCallerFactory } from './trpc';

// A database locked by another process reaches a console user as SERVICE_UNAVAILABLE with the lock's own words, not
// as an INTERNAL_SERVER_ERROR with nothing to act on.

const admin: SessionUser = { id: 'u-admin', name: 'admin', email: 'admin@test', roles: ['admin'], via: 'cookie' };
const sameOrigin = new Headers({ origin: 'http://localhost:3000', host: 'localhost:3000' });

describe('a mutation while another process holds the write lock', { skip: testsOnPostgres() && "SQLite's single write lock (PostgreSQL: server/db/postgres-concurrency.test.ts)" }, () => {
  let f: ConsoleFixture;
  let impatient: Db;

  before(async () => {
    f = await createConsoleFixture();
    // The same file, with a wait short enough for a test; the console's own client would wait 10 s.
    impatient = createDb(`file:${path.join(f.dataDir, 'hotplane.db')}`, { lockWaitMs: 300 });
  });
  after(() => impatient.$disconnect());

  it('is refused with SERVICE_UNAVAILABLE and "the database is locked", and writes nothing', async () => {
    const caller = createCallerFactory(appRouter)({ db: impatient, headers: sameOrigin, user: admin });
    const holder = await holdWriteLock(path.join(f.dataDir, 'hotplane.db'));
    try {
      await assert.rejects(caller.users.create({ email: 'locked@bank.example', name: 'locked', roles: ['auditor'] }), (error: unknown) => {
        assert.ok(error instanceof TRPCError, String(error));
        assert.equal(error.code, 'SERVICE_UNAVAILABLE');
        assert.match(error.message, /^the database is locked by another connection .*nothing was written, try again$/);
        return true;
      });
    } finally {
      await holder.release();
    }
    assert.equal(await f.db.user.count({ where: { email: 'locked@bank.example' } }), 0);
  });
});
