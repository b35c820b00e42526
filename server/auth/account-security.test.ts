import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { AuditActor } from '../audit/actor';
import { DomainError, DomainErrorCode } from '../errors';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { LOCKOUT_FAILURES } from './account-lockout';
import { createApiToken } from './api-tokens';
import { resolveSessionUser } from './session';
import { createUser, resetUserPassword, setUserDisabled, unlockAccount } from './users';

// Accounts against the real better-auth handler (the one mounted at /api/auth), driven with real Requests.

describe('accounts: passwords, tokens, disabled and locked accounts', () => {
  let f: ConsoleFixture;
  let handler: (request: Request) => Promise<Response>;
  const origin = 'http://localhost:3000';
  const password = 'violet kettle under the stairs';
  const admin: AuditActor = { id: 'adm', name: 'adm@test', roles: ['admin'] };
  let address = 0;
  const ids: Record<string, string> = {};

  const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
    handler(
      new Request(`${origin}/api/auth${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin, 'x-forwarded-for': `10.20.${Math.floor(address / 250)}.${address++ % 250}`, ...headers },
        body: JSON.stringify(body),
      }),
    );
  const signIn = (email: string, pass: string) => post('/sign-in/email', { email, password: pass });
  const cookieOf = (response: Response) => response.headers.getSetCookie().find((c) => c.startsWith('better-auth.session_token='))!.split(';')[0];
  const bearer = (token: string) => new Headers({ authorization: `Bearer ${token}` });

  before(async () => {
    f = await createConsoleFixture();
    const { auth } = await import('./auth');
    handler = (request) => auth().handler(request);
    for (const name of ['gone', 'wrong', 'reset', 'changer', 'locked', 'profile']) {
      ids[name] = (await createUser(f.db, admin, { email: `${name}@test.example`, name, roles: ['auditor'], password })).user.id;
    }
  });

  it("attack: a disabled account's sign-in with the right password reads exactly like a wrong password", async () => {
    await setUserDisabled(f.db, admin, ids.gone, true);
    const disabled = await signIn('gone@test.example', password);
    const wrong = await signIn('wrong@test.example', 'not the password at all');
    assert.equal(disabled.status, 401);
    assert.equal(disabled.status, wrong.status);
    const [disabledBody, wrongBody] = [await disabled.text(), await wrong.text()];
    assert.equal(disabledBody, wrongBody, 'same body, byte for byte');
    assert.match(disabledBody, /Invalid email or password/);
    assert.equal(disabled.headers.getSetCookie().length, 0, 'no session cookie');
    assert.equal(await f.db.session.count({ where: { userId: ids.gone } }), 0);
  });

  it('attack: the session token is absent from the sign-in and get-session JSON bodies (it lives in the HttpOnly cookie)', async () => {
    const response = await signIn('wrong@test.example', password);
    assert.equal(response.status, 200);
    const cookie = cookieOf(response);
    const token = decodeURIComponent(cookie.split('=')[1]).split('.')[0];
    const body = await response.text();
    assert.ok(!body.includes(token), 'the token is not in the body');
    assert.equal((JSON.parse(body) as { token?: string }).token, undefined);
    const session = await handler(new Request(`${origin}/api/auth/get-session`, { headers: { cookie, origin } }));
    const sessionBody = await session.text();
    assert.match(sessionBody, /wrong@test\.example/, 'the session is still described');
    assert.ok(!sessionBody.includes(token), 'but not its token');
    const list = await handler(new Request(`${origin}/api/auth/list-sessions`, { headers: { cookie, origin } }));
    assert.ok(!(await list.text()).includes(token), 'nor in the list of sessions');
  });

  it('attack: an API token issued before an admin resets the password is refused after it', async () => {
    const actor = { id: ids.reset, name: 'reset@test.example', roles: ['auditor'] };
    const { token } = await createApiToken(f.db, actor, 'laptop');
    assert.equal((await resolveSessionUser(bearer(token)))?.id, ids.reset);
    await resetUserPassword(f.db, admin, ids.reset);
    assert.equal(await resolveSessionUser(bearer(token)), null);
    const revoked = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'session.revoked', targetId: ids.reset } });
    assert.match(revoked.details, /"apiTokens":1/);
    assert.match(revoked.details, /an admin reset the password/);
  });

  it('attack: an API token and other sessions from before a password change are refused after it', async () => {
    const actor = { id: ids.changer, name: 'changer@test.example', roles: ['auditor'] };
    const { token } = await createApiToken(f.db, actor, 'ci');
    const other = cookieOf(await signIn('changer@test.example', password));
    const current = cookieOf(await signIn('changer@test.example', password));
    const changed = await post('/change-password', { currentPassword: password, newPassword: 'a different long passphrase' }, { cookie: current });
    assert.equal(changed.status, 200, await changed.clone().text());
    assert.equal(await resolveSessionUser(bearer(token)), null, 'the API token is revoked');
    assert.equal(await resolveSessionUser(new Headers({ cookie: other })), null, 'the other session is ended');
    assert.equal((await resolveSessionUser(new Headers({ cookie: current })))?.id, ids.changer, 'the session that changed it goes on');
    const actions = (await f.db.auditEvent.findMany({ where: { targetId: ids.changer } })).map((e) => e.action);
    assert.ok(actions.includes('user.password_changed'));
    assert.ok(actions.includes('session.revoked'));
  });

  it('attack: a short or common password is refused, and nothing changes', async () => {
    await assert.rejects(createUser(f.db, admin, { email: 'weak@test.example', name: 'Weak', roles: ['auditor'], password: 'Password2026!' }), (error: unknown) => {
      assert.ok(error instanceof DomainError);
      assert.equal(error.code, DomainErrorCode.InvalidInput);
      assert.match(error.message, /list of common passwords/);
      return true;
    });
    assert.equal(await f.db.user.count({ where: { email: 'weak@test.example' } }), 0);
    const cookie = cookieOf(await signIn('profile@test.example', password));
    for (const [weak, reason] of [['qwertyuiop1234', /common passwords/], ['short1!', /at least 12 characters/]] as const) {
      const refused = await post('/change-password', { currentPassword: password, newPassword: weak }, { cookie });
      assert.equal(refused.status, 400);
      assert.match(((await refused.json()) as { message: string }).message, reason);
    }
    assert.equal((await signIn('profile@test.example', password)).status, 200, 'the old password still works');
  });

  it('profile changes and revoked sessions are audited', async () => {
    const cookie = cookieOf(await signIn('profile@test.example', password));
    assert.equal((await post('/update-user', { name: 'Profile Renamed' }, { cookie })).status, 200);
    const changed = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'user.profile_changed', targetId: ids.profile } });
    assert.match(changed.details, /"fields":\["name"\]/);
    assert.equal((await post('/revoke-other-sessions', {}, { cookie })).status, 200);
    assert.ok(await f.db.auditEvent.findFirst({ where: { action: 'session.revoked', targetId: ids.profile, details: { contains: 'revoke-other-sessions' } } }));
  });

  it('an admin unlocks a locked account: audited, and the right password works again at once', async () => {
    for (let i = 0; i < LOCKOUT_FAILURES; i++) assert.equal((await signIn('locked@test.example', 'wrong password!')).status, 401);
    assert.equal((await signIn('locked@test.example', password)).status, 429, 'locked');
    await unlockAccount(f.db, admin, ids.locked);
    assert.equal((await signIn('locked@test.example', password)).status, 200);
    const unlocked = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'user.unlocked', targetId: ids.locked } });
    assert.equal(unlocked.actorId, admin.id);
  });
});
