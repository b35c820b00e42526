import { randomBytes, randomUUID } from 'node:crypto';
import { hashPassword } from 'better-auth/crypto';
import { z } from 'zod';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { voidOpenApprovalsOf } from '../rollout/approvals';
import { accountLockedUntil } from './account-lockout';
import { passwordProblem, passwordSchema } from './password-policy';
import { formatRoles, parseRoles, ROLES, type Role } from './permissions';
import { assertAnotherAdminRemains, changeUserRoles, grantInitialRoles, type GrantOptions } from './role-grants';

// Users are created here rather than through better-auth's sign-up endpoint so that the account, its
// credential and the audit event commit in one transaction; better-auth's own hasher is used.

export const newUserInput = z.object({
  email: z.email('give an e-mail address, e.g. operator@bank.example'),
  name: z.string().trim().min(1, 'give the person\'s name').max(120),
  roles: z.array(z.enum(ROLES)).min(1, 'give at least one role'),
  password: passwordSchema.optional(),
});
export type NewUserInput = z.infer<typeof newUserInput>;

export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}

/** Roles needing a second admin start as pending grants (see role-grants.ts); the console's own grants apply. */
export async function createUser(db: Db, actor: AuditActor, input: NewUserInput, options: GrantOptions = {}) {
  const problem = input.password === undefined ? null : passwordProblem(input.password);
  if (problem) throw new DomainError(DomainErrorCode.InvalidInput, problem);
  const password = input.password ?? generatePassword();
  const hash = await hashPassword(password);
  const email = input.email.toLowerCase();
  const user = await db.$transaction(async (tx) => {
    if (await tx.user.findUnique({ where: { email } })) {
      throw new DomainError(DomainErrorCode.Conflict, `a user with e-mail ${email} already exists; edit that user instead`);
    }
    const created = await tx.user.create({ data: { id: randomUUID(), email, name: input.name, roles: '', emailVerified: true } });
    await tx.account.create({
      data: { id: randomUUID(), accountId: created.id, providerId: 'credential', userId: created.id, password: hash },
    });
    await appendAuditEvent(tx, {
      actor,
      action: 'user.created',
      targetType: 'user',
      targetId: created.id,
      details: { email, name: input.name, roles: input.roles },
    });
    const roles = await grantInitialRoles(tx, actor, created, input.roles, options);
    return tx.user.update({ where: { id: created.id }, data: { roles: formatRoles(roles) } });
  });
  const roles = parseRoles(user.roles);
  return { user: { id: user.id, email: user.email, name: user.name, roles }, pending: input.roles.filter((r) => !roles.includes(r)), password };
}

export async function listUsers(db: Db) {
  const users = await db.user.findMany({ orderBy: { createdAt: 'asc' } });
  return Promise.all(
    users.map(async (u) => {
      const lockedUntil = await accountLockedUntil(db, u.email);
      return {
        id: u.id,
        email: u.email,
        name: u.name,
        roles: parseRoles(u.roles),
        disabled: u.disabled,
        createdAt: u.createdAt,
        lockedUntil: lockedUntil === null ? null : new Date(lockedUntil),
      };
    }),
  );
}

async function requireUser(db: Db | DbTransaction, id: string) {
  const user = await db.user.findUnique({ where: { id } });
  if (!user) throw new DomainError(DomainErrorCode.NotFound, `no user with id ${id}; reload the user list`);
  return user;
}

/** Role changes go through separation of duties (role-grants.ts). */
export function setUserRoles(db: Db, actor: AuditActor, userId: string, roles: Role[], options: GrantOptions = {}) {
  return changeUserRoles(db, actor, userId, roles, options);
}

// Disabling also ends every open session and API token of that user at once.
export async function setUserDisabled(db: Db, actor: AuditActor, userId: string, disabled: boolean) {
  return db.$transaction(async (tx) => {
    const user = await requireUser(tx, userId);
    if (disabled && parseRoles(user.roles).includes('admin')) await assertAnotherAdminRemains(tx, userId);
    await tx.user.update({ where: { id: userId }, data: { disabled } });
    if (disabled) {
      await revokeCredentialsOf(tx, actor, user, 'the account was disabled');
      await voidOpenApprovalsOf(tx, actor, userId, `the account ${user.email} was disabled`);
    }
    await appendAuditEvent(tx, {
      actor,
      action: disabled ? 'user.disabled' : 'user.enabled',
      targetType: 'user',
      targetId: userId,
      details: { email: user.email },
    });
  });
}

export async function resetUserPassword(db: Db, actor: AuditActor, userId: string) {
  const password = generatePassword();
  const hash = await hashPassword(password);
  await db.$transaction(async (tx) => {
    const user = await requireUser(tx, userId);
    await tx.account.updateMany({ where: { userId, providerId: 'credential' }, data: { password: hash } });
    await revokeCredentialsOf(tx, actor, user, 'an admin reset the password');
    await appendAuditEvent(tx, {
      actor,
      action: 'user.password_reset',
      targetType: 'user',
      targetId: userId,
      details: { email: user.email },
    });
  });
  return { password };
}

/**
 * Ends every session and API token of the user, audited: after a password reset or change, or disabling, no
 * credential issued before it works.
 */
export async function revokeCredentialsOf(tx: DbTransaction, actor: AuditActor, user: { id: string; email: string }, why: string, keepSessionToken?: string) {
  const sessions = await tx.session.deleteMany({ where: { userId: user.id, ...(keepSessionToken ? { token: { not: keepSessionToken } } : {}) } });
  const tokens = await tx.apiToken.updateMany({ where: { userId: user.id, revokedAt: null }, data: { revokedAt: new Date() } });
  if (sessions.count + tokens.count === 0) return;
  await appendAuditEvent(tx, {
    actor,
    action: 'session.revoked',
    targetType: 'user',
    targetId: user.id,
    details: { email: user.email, why, sessions: sessions.count, apiTokens: tokens.count },
  });
}

declare module '../audit/append' {
  interface ExtraAuditActions {
    'session.revoked': true;
    'user.unlocked': true;
    'user.password_changed': true;
    'user.profile_changed': true;
  }
}

/** Ends a lockout (account-lockout.ts counts failures only after the latest unlock). */
export async function unlockAccount(db: Db, actor: AuditActor, userId: string) {
  await db.$transaction(async (tx) => {
    const user = await requireUser(tx, userId);
    await appendAuditEvent(tx, { actor, action: 'user.unlocked', targetType: 'user', targetId: userId, details: { email: user.email } });
  });
}
