import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createUser } from '../auth/users';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { createApiToken } from '../auth/api-tokens';

// The audit export route: a POST from the console's own page (or with an API token), never a link or another site.

describe('audit export over HTTP', () => {
  let f: ConsoleFixture;
  let exportRoute: (request: Request) => Promise<Response>;
  let cookie: string;
  let apiToken: string;
  const origin = 'http://localhost:3000';
  const url = `${origin}/api/audit/export`;
  const exports = () => f.db.auditEvent.count({ where: { action: 'audit.exported' } });

  before(async () => {
    f = await createConsoleFixture();
    const password = 'an auditor passphrase here';
    const { user } = await createUser(f.db, f.actor, { email: 'auditor@test.example', name: 'Auditor', roles: ['auditor'], password });
    const { auth } = await import('../auth/auth');
    const signedIn = await auth().handler(
      new Request(`${origin}/api/auth/sign-in/email`, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify({ email: user.email, password }) }),
    );
    cookie = signedIn.headers.getSetCookie().find((c) => c.startsWith('better-auth.session_token='))!.split(';')[0];
    apiToken = (await createApiToken(f.db, { id: user.id, name: user.email, roles: ['auditor'] }, 'cli')).token;
    ({ handleAuditExportRequest: exportRoute } = await import('./export-http'));
  });

  it('attack: a cross-origin POST to the audit export with the auditor\'s cookie is refused, audited, and exports nothing', async () => {
    const before = await exports();
    const response = await exportRoute(new Request(url, { method: 'POST', headers: { cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } }));
    assert.equal(response.status, 403);
    const body = (await response.json()) as { error: string; message: string };
    assert.equal(body.error, 'CROSS_ORIGIN');
    assert.match(body.message, /cross-origin request refused \(Origin https:\/\/evil\.example\)/);
    assert.equal(await exports(), before, 'no export happened');
    assert.ok(await f.db.auditEvent.findFirst({ where: { action: 'audit.export_refused', details: { contains: 'evil.example' } } }));
  });

  it('attack: a cookie POST that carries no Origin at all is refused too', async () => {
    const response = await exportRoute(new Request(url, { method: 'POST', headers: { cookie } }));
    assert.equal(response.status, 403);
  });

  it('attack: a GET of the audit export (a link or an <img> on another site) is refused', async () => {
    const before = await exports();
    const response = await exportRoute(new Request(url, { method: 'GET', headers: { cookie, origin } }));
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'POST');
    assert.match(((await response.json()) as { message: string }).message, /the audit export is a POST/);
    assert.equal(await exports(), before);
  });

  it('a same-origin POST from the Audit page exports, and so does the CLI with an API token', async () => {
    const fromPage = await exportRoute(new Request(url, { method: 'POST', headers: { cookie, origin, 'sec-fetch-site': 'same-origin' } }));
    assert.equal(fromPage.status, 200);
    assert.match(fromPage.headers.get('content-disposition') ?? '', /attachment; filename="hotplane-audit-/);
    const fromCli = await exportRoute(new Request(url, { method: 'POST', headers: { authorization: `Bearer ${apiToken}` } }));
    assert.equal(fromCli.status, 200);
  });
});
