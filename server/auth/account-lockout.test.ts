import assert from 'node:assert/strict';
import { before, describe, it, mock } from 'node:test';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { accountLockedUntil, LOCKOUT_FAILURES, LOCKOUT_WINDOW_MS } from './account-lockout';
import { createUser } from './users';

// The lock as the real sign-in handler (server/auth/auth.ts) records it, read back at chosen moments through `now`.
// Every attempt comes from its own address, so the per-address limit never answers first.

describe('account lockout', () => {
  let f: ConsoleFixture;
  let handler: (request: Request) => Promise<Response>;
  const origin = 'http://localhost:3000';
  const password = 'correct horse battery';
  let address = 0;

  before(async () => {
    f = await createConsoleFixture();
    const { auth } = await import('./auth');
    handler = (request) => auth().handler(request);
    for (const name of ['reset', 'locked', 'retried', 'spread']) {
      await createUser(f.db, f.actor, { email: `${name}@test.example`, name, roles: ['operator'], password });
    }
  });

  async function signIn(email: string, pass: string): Promise<number> {
    const response = await handler(
      new Request(`${origin}/api/auth/sign-in/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin, 'x-forwarded-for': `10.7.${Math.floor(address / 250)}.${address++ % 250}` },
        body: JSON.stringify({ email, password: pass }),
      }),
    );
    return response.status;
  }

  async function fail(email: string, times: number) {
    for (let i = 0; i < times; i++) assert.equal(await signIn(email, `wrong guess ${i}`), 401);
  }

  const latestFailure = async (email: string) =>
    Date.parse((await f.db.auditEvent.findFirstOrThrow({ where: { action: 'session.login_failed', actorName: email }, orderBy: { seq: 'desc' } })).time);

  it(`${LOCKOUT_FAILURES - 1} failures, a successful sign-in, ${LOCKOUT_FAILURES - 1} more: not locked`, async () => {
    await fail('reset@test.example', LOCKOUT_FAILURES - 1);
    assert.equal(await signIn('reset@test.example', password), 200);
    await fail('reset@test.example', LOCKOUT_FAILURES - 1);
    assert.equal(await accountLockedUntil(f.db, 'reset@test.example'), null);
    assert.equal(await signIn('reset@test.example', password), 200);
  });

  it(`${LOCKOUT_FAILURES} failures lock the account until ${LOCKOUT_WINDOW_MS / 60_000} min after the last of them`, async () => {
    await fail('locked@test.example', LOCKOUT_FAILURES);
    const until = (await latestFailure('locked@test.example')) + LOCKOUT_WINDOW_MS;
    assert.equal(await accountLockedUntil(f.db, 'locked@test.example'), until);
    assert.equal(await accountLockedUntil(f.db, 'Locked@Test.example', until - 1), until, 'still locked a moment before the end');
    assert.equal(await accountLockedUntil(f.db, 'locked@test.example', until), null, 'and open at the end');
    assert.equal(await signIn('locked@test.example', password), 429);
  });

  it(`failures spread over more than ${LOCKOUT_WINDOW_MS / 60_000} min do not lock until ${LOCKOUT_FAILURES} of them fall within it`, async (t) => {
    // The sign-ins happen at chosen past moments: only the audit events' times differ from the tests above.
    const now = Date.now();
    t.after(() => mock.timers.reset());
    mock.timers.enable({ apis: ['Date'], now: now - 20 * 60_000 });
    await fail('spread@test.example', 1);
    mock.timers.setTime(now - 5 * 60_000);
    for (let i = 0; i < LOCKOUT_FAILURES - 1; i++) {
      mock.timers.tick(1_000);
      await fail('spread@test.example', 1);
    }
    assert.equal(await accountLockedUntil(f.db, 'spread@test.example', now), null, `${LOCKOUT_FAILURES} failures, the first more than a window before the last`);
    mock.timers.setTime(now - 60_000);
    await fail('spread@test.example', 1);
    assert.equal(await accountLockedUntil(f.db, 'spread@test.example', now), now - 60_000 + LOCKOUT_WINDOW_MS);
  });

  it('attempts refused while locked are audited but do not move the end of the lock', async (t) => {
    await fail('retried@test.example', LOCKOUT_FAILURES);
    const until = (await latestFailure('retried@test.example')) + LOCKOUT_WINDOW_MS;
    // A minute into the lock, so that an end moved by the retries would show by a minute.
    t.after(() => mock.timers.reset());
    mock.timers.enable({ apis: ['Date'], now: Date.now() + 60_000 });
    for (const guess of [password, 'wrong again', 'and again']) assert.equal(await signIn('retried@test.example', guess), 429);
    const refused = await f.db.auditEvent.findMany({ where: { action: 'session.login_refused_locked', actorName: 'retried@test.example' } });
    assert.equal(refused.length, 3);
    assert.equal(JSON.parse(refused[0].details).lockedUntil, new Date(until).toISOString());
    assert.equal(await f.db.auditEvent.count({ where: { action: 'session.login_failed', actorName: 'retried@test.example' } }), LOCKOUT_FAILURES);
    assert.equal(await accountLockedUntil(f.db, 'retried@test.example', until - 1), until);
    assert.equal(await accountLockedUntil(f.db, 'retried@test.example', until), null);
  });
});
