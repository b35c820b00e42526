import { randomUUID } from 'node:crypto';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import { config } from '../config';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { voidOpenApprovalsOf } from '../rollout/approvals';
import { formatRoles, parseRoles, type Role } from './permissions';

// Separation of duties for roles: nobody changes their own; admin, operator and approver reach a person only
// when a second admin confirms; every grant, removal, confirmation and refusal is an audit event. Each applied
// grant is a RoleGrant row, so when someone obtained a role (the approver's role age) is read from the record.

declare module '../audit/append' {
  interface ExtraAuditActions {
    'role.granted': true;
    'role.grant_requested': true;
    'role.grant_confirmed': true;
    'role.grant_declined': true;
    'role.grant_refused': true;
    'role.removed': true;
  }
}

/** Roles that can move production or grant roles: they wait for a second admin. */
export const CONFIRMED_ROLES: readonly Role[] = ['admin', 'operator', 'approver'];

export interface GrantOptions {
  needConfirmation?: boolean;
}

const needsConfirmation = (role: Role, options: GrantOptions) => (options.needConfirmation ?? config().roleGrantsNeedConfirmation) && CONFIRMED_ROLES.includes(role);

/**
 * Writes the refusal to the audit trail in its own transaction (the refused change has none to share) and
 * throws it as a FORBIDDEN domain error.
 */
async function refuse(db: Db, actor: AuditActor, userId: string, reason: string, details: Record<string, unknown>): Promise<never> {
  await db.$transaction((tx) => appendAuditEvent(tx, { actor, action: 'role.grant_refused', targetType: 'user', targetId: userId, details: { reason, ...details } }));
  throw new DomainError(DomainErrorCode.Forbidden, reason);
}

// The last enabled admin cannot lock everyone out of user management.
export async function assertAnotherAdminRemains(tx: DbTransaction, userId: string) {
  const admins = (await tx.user.findMany({ where: { disabled: false } })).filter((u) => u.id !== userId && parseRoles(u.roles).includes('admin'));
  if (admins.length === 0) throw new DomainError(DomainErrorCode.Conflict, 'this is the last enabled admin; make someone else admin first');
}

async function recordApplied(tx: DbTransaction, actor: AuditActor, user: { id: string; email: string }, role: Role, via: 'bootstrap' | 'direct', now: Date) {
  await tx.roleGrant.create({
    data: { id: randomUUID(), userId: user.id, role, state: 'applied', via, requestedById: actor.id, requestedByName: actor.name, requestedAt: now, decidedById: actor.id, decidedByName: actor.name, decidedAt: now },
  });
  await appendAuditEvent(tx, { actor, action: 'role.granted', targetType: 'user', targetId: user.id, details: { email: user.email, role, via } });
}

async function requestGrant(tx: DbTransaction, actor: AuditActor, user: { id: string; email: string }, role: Role, now: Date) {
  const open = await tx.roleGrant.findFirst({ where: { userId: user.id, role, state: 'pending' } });
  if (open) return open.id;
  const grant = await tx.roleGrant.create({
    data: { id: randomUUID(), userId: user.id, role, state: 'pending', via: 'confirmed', requestedById: actor.id, requestedByName: actor.name, requestedAt: now },
  });
  await appendAuditEvent(tx, { actor, action: 'role.grant_requested', targetType: 'user', targetId: user.id, details: { email: user.email, role, grantId: grant.id, confirmBy: 'a second admin' } });
  return grant.id;
}

/**
 * Gives a new account its roles inside the caller's transaction: roles needing confirmation become pending
 * grants; the rest apply now. The console itself (first admin, demo accounts) grants as `bootstrap`.
 * Returns the roles the account has now.
 */
export async function grantInitialRoles(tx: DbTransaction, actor: AuditActor, user: { id: string; email: string }, roles: readonly Role[], options: GrantOptions = {}) {
  const now = new Date();
  const bootstrap = actor.id === 'system';
  const applied: Role[] = [];
  for (const role of roles) {
    if (!bootstrap && needsConfirmation(role, options)) await requestGrant(tx, actor, user, role, now);
    else {
      await recordApplied(tx, actor, user, role, bootstrap ? 'bootstrap' : 'direct', now);
      applied.push(role);
    }
  }
  return applied;
}

export interface RoleChangeResult {
  roles: Role[];
  /** Roles waiting for a second admin. */
  pending: Role[];
}

/** Sets a person's roles: removals apply now, additions apply now or wait for a second admin. */
export async function changeUserRoles(db: Db, actor: AuditActor, userId: string, roles: readonly Role[], options: GrantOptions = {}): Promise<RoleChangeResult> {
  if (actor.id === userId) {
    await refuse(db, actor, userId, 'nobody changes their own roles: ask another admin to do it', { requested: roles });
  }
  return db.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: userId } });
    if (!user) throw new DomainError(DomainErrorCode.NotFound, `no user with id ${userId}; reload the user list`);
    const before = parseRoles(user.roles);
    const removed = before.filter((r) => !roles.includes(r));
    const added = roles.filter((r) => !before.includes(r));
    if (removed.includes('admin')) await assertAnotherAdminRemains(tx, userId);
    const now = new Date();
    const pending: Role[] = [];
    const after = before.filter((r) => !removed.includes(r));
    for (const role of added) {
      if (needsConfirmation(role, options)) {
        await requestGrant(tx, actor, user, role, now);
        pending.push(role);
      } else {
        await recordApplied(tx, actor, user, role, 'direct', now);
        after.push(role);
      }
    }
    for (const role of removed) {
      await appendAuditEvent(tx, { actor, action: 'role.removed', targetType: 'user', targetId: userId, details: { email: user.email, role } });
    }
    await tx.roleGrant.updateMany({ where: { userId, role: { in: removed }, state: 'pending' }, data: { state: 'declined', decidedById: actor.id, decidedByName: actor.name, decidedAt: now } });
    await tx.user.update({ where: { id: userId }, data: { roles: formatRoles(after) } });
    await appendAuditEvent(tx, { actor, action: 'user.roles_changed', targetType: 'user', targetId: userId, details: { email: user.email, before, after: formatRoles(after).split(',').filter(Boolean), pending } });
    if (removed.includes('approver')) await voidOpenApprovalsOf(tx, actor, userId, `${user.email} no longer has the approver role`);
    return { roles: parseRoles(formatRoles(after)), pending };
  });
}

async function loadPending(tx: DbTransaction, grantId: string) {
  const grant = await tx.roleGrant.findUnique({ where: { id: grantId } });
  if (!grant) throw new DomainError(DomainErrorCode.NotFound, `no role grant ${grantId}; reload the user list`);
  if (grant.state !== 'pending') throw new DomainError(DomainErrorCode.Conflict, `the grant of ${grant.role} is ${grant.state} already; reload the user list`);
  return grant;
}

/** A second admin — neither the one who asked nor the grantee — confirms a pending grant. */
export async function confirmRoleGrant(db: Db, actor: AuditActor, grantId: string) {
  const grant = await db.roleGrant.findUnique({ where: { id: grantId } });
  if (grant?.requestedById === actor.id) {
    await refuse(db, actor, grant.userId, `you asked for this grant of ${grant.role}: a second admin must confirm it`, { grantId, role: grant.role });
  }
  if (grant?.userId === actor.id) {
    await refuse(db, actor, grant.userId, `this grant of ${grant.role} is for you: another admin must confirm it`, { grantId, role: grant.role });
  }
  return db.$transaction(async (tx) => {
    const open = await loadPending(tx, grantId);
    const user = await tx.user.findUniqueOrThrow({ where: { id: open.userId } });
    const now = new Date();
    const roles = parseRoles(user.roles);
    await tx.roleGrant.update({ where: { id: grantId }, data: { state: 'applied', decidedById: actor.id, decidedByName: actor.name, decidedAt: now } });
    await tx.user.update({ where: { id: user.id }, data: { roles: formatRoles([...roles, open.role as Role]) } });
    await appendAuditEvent(tx, {
      actor,
      action: 'role.grant_confirmed',
      targetType: 'user',
      targetId: user.id,
      details: { email: user.email, role: open.role, grantId, requestedBy: open.requestedByName },
    });
    return { userId: user.id, role: open.role };
  });
}

/** Any admin but the grantee can decline a pending grant, the one who asked included. */
export async function declineRoleGrant(db: Db, actor: AuditActor, grantId: string) {
  await db.$transaction(async (tx) => {
    const open = await loadPending(tx, grantId);
    if (open.userId === actor.id) throw new DomainError(DomainErrorCode.Forbidden, 'this grant is for you: another admin decides on it');
    await tx.roleGrant.update({ where: { id: grantId }, data: { state: 'declined', decidedById: actor.id, decidedByName: actor.name, decidedAt: new Date() } });
    await appendAuditEvent(tx, { actor, action: 'role.grant_declined', targetType: 'user', targetId: open.userId, details: { role: open.role, grantId } });
  });
}

export async function listPendingGrants(db: Db) {
  const rows = await db.roleGrant.findMany({ where: { state: 'pending' }, orderBy: { requestedAt: 'asc' } });
  return rows.map((g) => ({ id: g.id, userId: g.userId, role: g.role, requestedById: g.requestedById, requestedByName: g.requestedByName, requestedAt: g.requestedAt }));
}
