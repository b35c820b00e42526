import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { TRPCError } from '@trpc/server';
import type { Role } from '../auth/permissions';
import type { SessionUser } from '../auth/session';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { appRouter, createCaller } from './root';

function userWith(roles: Role[]): SessionUser {
  return { id: `u-${roles.join('-') || 'none'}`, name: roles.join(','), email: `${roles.join('-')}@test`, roles, via: 'cookie' };
}

async function rejectsWith(promise: Promise<unknown>, code: TRPCError['code']) {
  await assert.rejects(promise, (error: unknown) => error instanceof TRPCError && error.code === code);
}

describe('every procedure declares who may call it, and the server enforces it', () => {
  let f: ConsoleFixture;
  const sameOrigin = new Headers({ origin: 'http://localhost:3000', host: 'localhost:3000' });
  const call = (user: SessionUser | null, headers = sameOrigin) => createCaller({ db: f.db, headers, user });
  const signer = {
    name: 'x', subjectDn: 'CN=x', serial: '1', publicKey: '04', allowedModules: ['*'], notBefore: new Date(), notAfter: new Date(Date.now() + 1000),
  };

  before(async () => {
    f = await createConsoleFixture();
  });

  it('every procedure carries a permission or an explicit access level', () => {
    const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { meta?: { permission?: string; access?: string } } }>);
    assert.ok(procedures.length > 10);
    for (const [name, procedure] of procedures) {
      const meta = procedure._def.meta ?? {};
      assert.ok(meta.permission || meta.access === 'signed-in', `${name} declares neither a permission nor signed-in access`);
    }
  });

  it('no session → UNAUTHORIZED', async () => {
    await rejectsWith(call(null).modules.list(), 'UNAUTHORIZED');
    await rejectsWith(call(null).signers.register(signer), 'UNAUTHORIZED');
  });

  it('an operator cannot register a signer or manage users → FORBIDDEN', async () => {
    await rejectsWith(call(userWith(['operator'])).signers.register(signer), 'FORBIDDEN');
    await rejectsWith(call(userWith(['operator'])).users.list(), 'FORBIDDEN');
  });

  it('an auditor cannot upload but can read and verify the audit trail', async () => {
    const auditor = call(userWith(['auditor']));
    await rejectsWith(auditor.modules.revokeVersion({ versionId: 'x', reason: 'nope' }), 'FORBIDDEN');
    const listed = await auditor.audit.list({ limit: 5 });
    assert.ok(listed.events.length > 0);
    const verdict = await auditor.audit.verify({});
    assert.equal(verdict.ok, true);
  });

  it('an admin registers a signer, and a bad key is a clear BAD_REQUEST', async () => {
    await assert.rejects(call(userWith(['admin'])).signers.register(signer), (error: unknown) => {
      assert.ok(error instanceof TRPCError);
      assert.equal(error.code, 'BAD_REQUEST');
      assert.match(error.message, /hex/i);
      return true;
    });
  });

  it('a cookie-authenticated mutation from another origin is refused', async () => {
    const evil = new Headers({ origin: 'https://evil.example', host: 'localhost:3000', 'sec-fetch-site': 'cross-site' });
    await rejectsWith(call(userWith(['admin']), evil).users.create({ email: 'x@y.z', name: 'x', roles: ['auditor'] }), 'FORBIDDEN');
    assert.equal(await f.db.user.count({ where: { email: 'x@y.z' } }), 0);
  });

  it('every role reads the runtime; only operators propose changes to it and only admins manage hosts', async () => {
    for (const role of ['admin', 'operator', 'approver', 'oncall', 'auditor'] as const) {
      assert.ok(Array.isArray((await call(userWith([role])).fleet.hosts()).hosts));
    }
    await rejectsWith(call(userWith(['oncall'])).rollouts.changes.proposeDesired({ module: 'ledger', versions: [], reason: 'on-call tidies up' }), 'FORBIDDEN');
    await rejectsWith(call(userWith(['operator'])).fleet.registerHost({ name: 'edge-1' }), 'FORBIDDEN');
    await rejectsWith(call(userWith(['admin'])).fleet.setDemoTraffic({ enabled: false }), 'FORBIDDEN');
  });

  it('a user holding several roles gets the union of their rights', async () => {
    const both = call(userWith(['operator', 'auditor']));
    assert.ok(Array.isArray(await both.audit.list({ limit: 1 }).then((r) => r.events)));
    assert.ok(Array.isArray(await both.modules.list()));
  });
});
