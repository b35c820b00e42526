import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { TRPCError } from '@trpc/server';
import { SYSTEM_ACTOR, type AuditActor } from '../audit/actor';
import { createCaller } from '../api/root';
import type { Db } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { createConsoleFixture } from '../testing/console-fixture';
import { parseRoles, type Role } from './permissions';
import { confirmRoleGrant, listPendingGrants } from './role-grants';
import type { SessionUser } from './session';
import { createUser, setUserRoles } from './users';

// Separation of duties for roles, with confirmation on (the production default): nobody changes their own roles,
// admin/operator/approver wait for a second admin, and every step is in the audit trail.

const headers = new Headers({ origin: 'http://localhost:3000', host: 'localhost:3000' });

function refusedWith(code: DomainErrorCode, pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof DomainError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('role grants: separation of duties', () => {
  let db: Db;
  let firstAdmin: AuditActor;
  let secondAdmin: AuditActor;

  const rolesOf = async (id: string) => parseRoles((await db.user.findUniqueOrThrow({ where: { id } })).roles);
  const sessionOf = async (id: string): Promise<SessionUser> => {
    const user = await db.user.findUniqueOrThrow({ where: { id } });
    return { id, name: user.name, email: user.email, roles: parseRoles(user.roles), via: 'cookie' };
  };
  const newPerson = async (email: string, roles: Role[] = ['auditor']) => (await createUser(db, firstAdmin, { email, name: email, roles })).user.id;

  before(async () => {
    const f = await createConsoleFixture({ HOTPLANE_ROLE_GRANT_CONFIRMATION: '1' });
    db = f.db;
    for (const email of ['first-admin@test.example', 'second-admin@test.example']) await createUser(db, SYSTEM_ACTOR, { email, name: email, roles: ['admin'] });
    const [a, b] = await Promise.all(['first-admin@test.example', 'second-admin@test.example'].map((email) => db.user.findUniqueOrThrow({ where: { email } })));
    firstAdmin = { id: a.id, name: a.email, roles: ['admin'] };
    secondAdmin = { id: b.id, name: b.email, roles: ['admin'] };
  });

  it('the first accounts are granted by the console and audited as bootstrap', async () => {
    const events = await db.auditEvent.findMany({ where: { action: 'role.granted', targetId: firstAdmin.id } });
    assert.equal(events.length, 1);
    assert.equal(JSON.parse(events[0].details).via, 'bootstrap');
    assert.equal(events[0].actorId, 'system');
  });

  it('attack: an admin cannot grant themselves a role (refused, audited, nothing changed)', async () => {
    await assert.rejects(setUserRoles(db, firstAdmin, firstAdmin.id, ['admin', 'operator', 'approver']), refusedWith(DomainErrorCode.Forbidden, /nobody changes their own roles/));
    assert.deepEqual(await rolesOf(firstAdmin.id), ['admin']);
    assert.equal((await listPendingGrants(db)).filter((g) => g.userId === firstAdmin.id).length, 0);
    const refusal = await db.auditEvent.findFirst({ where: { action: 'role.grant_refused', actorId: firstAdmin.id, targetId: firstAdmin.id } });
    assert.ok(refusal, 'the refusal is in the audit trail');
    assert.match(refusal.details, /nobody changes their own roles/);
  });

  it('attack: an admin cannot remove their own roles either, through tRPC', async () => {
    const caller = createCaller({ db, headers, user: await sessionOf(secondAdmin.id) });
    await assert.rejects(caller.users.setRoles({ userId: secondAdmin.id, roles: ['auditor'] }), (error: unknown) => {
      assert.ok(error instanceof TRPCError);
      assert.equal(error.code, 'FORBIDDEN');
      assert.match(error.message, /nobody changes their own roles/);
      return true;
    });
    assert.deepEqual(await rolesOf(secondAdmin.id), ['admin']);
  });

  it('attack: an admin granting operator to an accomplice alone leaves it pending, and the accomplice cannot act', async () => {
    const accomplice = await newPerson('accomplice@test.example');
    const result = await createCaller({ db, headers, user: await sessionOf(firstAdmin.id) }).users.setRoles({ userId: accomplice, roles: ['auditor', 'operator'] });
    assert.deepEqual(result.pending, ['operator']);
    assert.deepEqual(await rolesOf(accomplice), ['auditor'], 'operator is not granted yet');
    const asAccomplice = createCaller({ db, headers, user: await sessionOf(accomplice) });
    await assert.rejects(asAccomplice.rollouts.changes.propose({ module: 'ledger', toVersion: '1.0.0', reason: 'sneak it in' }), (error: unknown) => {
      assert.ok(error instanceof TRPCError);
      assert.equal(error.code, 'FORBIDDEN');
      return true;
    });
    assert.equal(await db.changeRequest.count(), 0, 'nothing was proposed');
    const requested = await db.auditEvent.findFirst({ where: { action: 'role.grant_requested', targetId: accomplice } });
    assert.match(requested!.details, /"role":"operator"/);
  });

  it('attack: the admin who asked for a grant cannot confirm it themselves', async () => {
    const accomplice = await newPerson('accomplice2@test.example');
    await setUserRoles(db, firstAdmin, accomplice, ['auditor', 'approver']);
    const grant = (await listPendingGrants(db)).find((g) => g.userId === accomplice)!;
    await assert.rejects(confirmRoleGrant(db, firstAdmin, grant.id), refusedWith(DomainErrorCode.Forbidden, /a second admin must confirm it/));
    assert.deepEqual(await rolesOf(accomplice), ['auditor']);
    assert.equal((await db.roleGrant.findUniqueOrThrow({ where: { id: grant.id } })).state, 'pending');
    assert.ok(await db.auditEvent.findFirst({ where: { action: 'role.grant_refused', actorId: firstAdmin.id, targetId: accomplice } }));
  });

  it('attack: an admin cannot confirm a grant made out to themselves', async () => {
    const third = await newPerson('third-admin@test.example');
    await setUserRoles(db, firstAdmin, third, ['auditor', 'admin']);
    await confirmRoleGrant(db, secondAdmin, (await listPendingGrants(db)).find((g) => g.userId === third)!.id);
    await setUserRoles(db, { id: third, name: 'third-admin@test.example', roles: ['admin'] }, secondAdmin.id, ['admin', 'operator']);
    const grant = (await listPendingGrants(db)).find((g) => g.userId === secondAdmin.id)!;
    await assert.rejects(confirmRoleGrant(db, secondAdmin, grant.id), refusedWith(DomainErrorCode.Forbidden, /is for you: another admin must confirm it/));
    assert.deepEqual(await rolesOf(secondAdmin.id), ['admin']);
  });

  it('a second admin confirms: the role applies, audited with who asked, and is dated for role age', async () => {
    const person = await newPerson('confirmed@test.example');
    await setUserRoles(db, firstAdmin, person, ['auditor', 'operator']);
    const grant = (await listPendingGrants(db)).find((g) => g.userId === person)!;
    await confirmRoleGrant(db, secondAdmin, grant.id);
    assert.deepEqual(await rolesOf(person), ['operator', 'auditor']);
    const row = await db.roleGrant.findUniqueOrThrow({ where: { id: grant.id } });
    assert.equal(row.state, 'applied');
    assert.equal(row.decidedById, secondAdmin.id);
    const confirmed = await db.auditEvent.findFirstOrThrow({ where: { action: 'role.grant_confirmed', targetId: person } });
    assert.equal(confirmed.actorId, secondAdmin.id);
    assert.match(confirmed.details, new RegExp(`"requestedBy":"${firstAdmin.name}"`));
  });

  it('other roles and every removal apply at once, audited', async () => {
    const person = await newPerson('plain@test.example', ['auditor']);
    assert.deepEqual((await setUserRoles(db, firstAdmin, person, ['oncall'])).roles, ['oncall']);
    assert.deepEqual(await rolesOf(person), ['oncall']);
    assert.ok(await db.auditEvent.findFirst({ where: { action: 'role.removed', targetId: person } }));
    assert.ok(await db.auditEvent.findFirst({ where: { action: 'role.granted', targetId: person, details: { contains: '"via":"direct"' } } }));
  });

  it('a new account asked for with approver starts without it until a second admin confirms', async () => {
    const created = await createUser(db, firstAdmin, { email: 'new-approver@test.example', name: 'New approver', roles: ['approver', 'auditor'] });
    assert.deepEqual(created.user.roles, ['auditor']);
    assert.deepEqual(created.pending, ['approver']);
  });
});
