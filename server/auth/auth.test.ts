import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { LOCKOUT_FAILURES } from './account-lockout';
import { LOGIN_ATTEMPTS_PER_MINUTE } from './password-policy';
import { resolveSessionUser } from './session';
import { createUser, setUserDisabled } from './users';

// The real better-auth handler (the one the console mounts at /api/auth), driven with real Requests.
describe('sessions: cookies, logout, rate limiting, disabled accounts', () => {
  let f: ConsoleFixture;
  let handler: (request: Request) => Promise<Response>;
  const origin = 'http://localhost:3000';
  const password = 'correct horse battery';

  before(async () => {
    f = await createConsoleFixture();
    const { auth } = await import('./auth');
    handler = (request) => auth().handler(request);
    await createUser(f.db, f.actor, { email: 'op@test.example', name: 'Op', roles: ['operator'], password });
    await createUser(f.db, f.actor, { email: 'gone@test.example', name: 'Gone', roles: ['auditor'], password });
    await createUser(f.db, f.actor, { email: 'lock@test.example', name: 'Lock', roles: ['approver'], password });
  });

  function signIn(email: string, pass: string, ip: string) {
    return handler(
      new Request(`${origin}/api/auth/sign-in/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin, 'x-forwarded-for': ip },
        body: JSON.stringify({ email, password: pass }),
      }),
    );
  }

  function cookieOf(response: Response) {
    return response.headers.getSetCookie().find((c) => c.startsWith('better-auth.session_token='))!;
  }

  it('sets an HttpOnly, SameSite=Strict session cookie and audits the login', async () => {
    const response = await signIn('op@test.example', password, '10.0.0.1');
    assert.equal(response.status, 200);
    const cookie = cookieOf(response);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    const event = await f.db.auditEvent.findFirst({ where: { action: 'session.login', actorName: 'op@test.example' } });
    assert.ok(event);
  });

  it('logout kills the session: the same cookie no longer authenticates', async () => {
    const cookie = cookieOf(await signIn('op@test.example', password, '10.0.0.2')).split(';')[0];
    const headers = new Headers({ cookie, origin });
    assert.equal((await resolveSessionUser(headers))?.email, 'op@test.example');
    const out = await handler(new Request(`${origin}/api/auth/sign-out`, { method: 'POST', headers: { cookie, origin, 'content-type': 'application/json' }, body: '{}' }));
    assert.equal(out.status, 200);
    assert.equal(await resolveSessionUser(new Headers({ cookie })), null);
    assert.ok(await f.db.auditEvent.findFirst({ where: { action: 'session.logout' } }));
  });

  it(`refuses more than ${LOGIN_ATTEMPTS_PER_MINUTE} sign-in attempts a minute from one address, and audits failures`, async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LOGIN_ATTEMPTS_PER_MINUTE + 2; i++) statuses.push((await signIn('op@test.example', 'wrong password!', '10.9.9.9')).status);
    assert.deepEqual(statuses.slice(0, LOGIN_ATTEMPTS_PER_MINUTE), Array(LOGIN_ATTEMPTS_PER_MINUTE).fill(401));
    assert.deepEqual(statuses.slice(LOGIN_ATTEMPTS_PER_MINUTE), [429, 429]);
    assert.equal((await signIn('op@test.example', password, '10.9.9.9')).status, 429, 'even the right password waits');
    assert.equal(await f.db.auditEvent.count({ where: { action: 'session.login_failed' } }), LOGIN_ATTEMPTS_PER_MINUTE);
  });

  it(`locks an account after ${LOCKOUT_FAILURES} failed sign-ins even when each comes from another address`, async () => {
    for (let i = 0; i < LOCKOUT_FAILURES; i++) assert.equal((await signIn('lock@test.example', 'wrong password!', `10.8.0.${i}`)).status, 401);
    const locked = await signIn('LOCK@test.example', password, '10.8.1.1');
    assert.equal(locked.status, 429, 'the right password waits too');
    assert.match(((await locked.json()) as { message: string }).message, /locked for \d+ more minute/);
    assert.equal(await f.db.auditEvent.count({ where: { action: 'session.login_failed', actorName: 'lock@test.example' } }), LOCKOUT_FAILURES);
    assert.equal(await f.db.auditEvent.count({ where: { action: 'session.login_refused_locked', actorName: 'lock@test.example' } }), 1, 'the refused attempt is audited too');
    assert.equal((await signIn('op@test.example', password, '10.8.1.2')).status, 200, 'other accounts are not affected');
  });

  it('a disabled user cannot sign in, and disabling ends open sessions', async () => {
    const cookie = cookieOf(await signIn('gone@test.example', password, '10.0.0.3')).split(';')[0];
    const user = await f.db.user.findUniqueOrThrow({ where: { email: 'gone@test.example' } });
    await setUserDisabled(f.db, { id: 'admin', name: 'admin@test', roles: ['admin'] }, user.id, true);
    assert.equal(await resolveSessionUser(new Headers({ cookie })), null);
    assert.notEqual((await signIn('gone@test.example', password, '10.0.0.4')).status, 200);
  });

  it('public sign-up is disabled: accounts come from an admin', async () => {
    const response = await handler(
      new Request(`${origin}/api/auth/sign-up/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin },
        body: JSON.stringify({ email: 'walk-in@test.example', password, name: 'Walk In' }),
      }),
    );
    assert.equal(response.status, 404);
    assert.equal(await f.db.user.count({ where: { email: 'walk-in@test.example' } }), 0);
  });
});
