import { randomBytes, randomUUID } from 'node:crypto';
import { hashPassword } from 'better-auth/crypto';
import { z } from 'zod';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { Db } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { MIN_PASSWORD_LENGTH } from './password-policy';
import { formatRoles, parseRoles, ROLES, type Role } from './permissions';

// Users are created here rather than through better-auth's sign-up endpoint so that the account, its
// credential and the audit event commit in one transaction; better-auth's own hasher is used.

export const newUserInput = z.object({
  email: z.email('give an e-mail address, e.g. operator@bank.example'),
  name: z.string().trim().min(1, 'give the person\'s name').max(120),
  roles: z.array(z.enum(ROLES)).min(1, 'give at least one role'),
  password: z.string().min(MIN_PASSWORD_LENGTH, `passwords have at least ${MIN_PASSWORD_LENGTH} characters`).optional(),
});
export type NewUserInput = z.infer<typeof newUserInput>;

export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}

export async function createUser(db: Db, actor: AuditActor, input: NewUserInput) {
  const password = input.password ?? generatePassword();
  const hash = await hashPassword(password);
  const email = input.email.toLowerCase();
  const user = await db.$transaction(async (tx) => {
    if (await tx.user.findUnique({ where: { email } })) {
      throw new DomainError(DomainErrorCode.Conflict, `a user with e-mail ${email} already exists; edit that user instead`);
    }
    const created = await tx.user.create({
      data: { id: randomUUID(), email, name: input.name, roles: formatRoles(input.roles), emailVerified: true },
    });
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
    return created;
  });
  return { user: { id: user.id, email: user.email, name: user.name, roles: parseRoles(user.roles) }, password };
}

export async function listUsers(db: Db) {
  const users = await db.user.findMany({ orderBy: { createdAt: 'asc' } });
  return users.map((u) => ({
    id: u.id,
    email: u.email,
    name: u.name,
    roles: parseRoles(u.roles),
    disabled: u.disabled,
    createdAt: u.createdAt,
  }));
}

async function requireUser(db: Db | Parameters<Parameters<Db['$transaction']>[0]>[0], id: string) {
  const user = await db.user.findUnique({ where: { id } });
  if (!user) throw new DomainError(DomainErrorCode.NotFound, `no user with id ${id}; reload the user list`);
  return user;
}

// The last enabled admin cannot lock everyone out of user management.
async function assertAnotherAdminRemains(tx: Parameters<Parameters<Db['$transaction']>[0]>[0], userId: string) {
  const admins = (await tx.user.findMany({ where: { disabled: false } })).filter(
    (u) => u.id !== userId && parseRoles(u.roles).includes('admin'),
  );
  if (admins.length === 0) {
    throw new DomainError(DomainErrorCode.Conflict, 'this is the last enabled admin; make someone else admin first');
  }
}

export async function setUserRoles(db: Db, actor: AuditActor, userId: string, roles: Role[]) {
  return db.$transaction(async (tx) => {
    const user = await requireUser(tx, userId);
    const before = parseRoles(user.roles);
    if (before.includes('admin') && !roles.includes('admin')) await assertAnotherAdminRemains(tx, userId);
    await tx.user.update({ where: { id: userId }, data: { roles: formatRoles(roles) } });
    await appendAuditEvent(tx, {
      actor,
      action: 'user.roles_changed',
      targetType: 'user',
      targetId: userId,
      details: { email: user.email, before, after: roles },
    });
  });
}

// Disabling also ends every open session and API token of that user at once.
export async function setUserDisabled(db: Db, actor: AuditActor, userId: string, disabled: boolean) {
  return db.$transaction(async (tx) => {
    const user = await requireUser(tx, userId);
    if (disabled && parseRoles(user.roles).includes('admin')) await assertAnotherAdminRemains(tx, userId);
    await tx.user.update({ where: { id: userId }, data: { disabled } });
    if (disabled) {
      await tx.session.deleteMany({ where: { userId } });
      await tx.apiToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date() } });
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
    await tx.session.deleteMany({ where: { userId } });
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
