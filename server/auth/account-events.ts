import 'server-only';
import { APIError, getSessionFromCtx, isAPIError } from 'better-auth/api';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { Db } from '../db/client';
import { passwordProblem } from './password-policy';
import { parseRoles } from './permissions';
import { revokeCredentialsOf } from './users';

// What the people themselves do to their account through better-auth's endpoints (/api/auth/*): the password
// rule before a change, the audit events and the revocations after it, and the session token kept out of
// every JSON body (it lives in the HttpOnly cookie only, where page scripts cannot read it).

/** The body better-auth gives for a wrong password, also given to a disabled account so it cannot be told apart. */
export const WRONG_PASSWORD = { code: 'INVALID_EMAIL_OR_PASSWORD', message: 'Invalid email or password' };

interface HookContext {
  path?: string;
  body?: Record<string, unknown>;
  context: { returned?: unknown; session?: { session: { token: string }; user: { id: string } } | null };
}

async function actorOfUser(prisma: Db, userId: string): Promise<AuditActor & { email: string }> {
  const user = await prisma.user.findUnique({ where: { id: userId } });
  const email = user?.email ?? userId;
  return { id: userId, name: email, email, roles: parseRoles(user?.roles) };
}

/** Refuses a new password that breaks the rule before better-auth stores it. */
export function checkNewPassword(ctx: HookContext) {
  if (ctx.path !== '/change-password' || typeof ctx.body?.newPassword !== 'string') return;
  const problem = passwordProblem(ctx.body.newPassword);
  if (problem) throw new APIError('BAD_REQUEST', { code: 'WEAK_PASSWORD', message: problem });
}

/** A disabled account's refused session reads exactly like a wrong password (same status, same body). */
export async function disguiseDisabledSignIn(prisma: Db, ctx: HookContext) {
  const returned = ctx.context.returned;
  if (ctx.path !== '/sign-in/email' || !isAPIError(returned) || typeof ctx.body?.email !== 'string') return;
  if ((returned.body as { code?: string } | undefined)?.code !== 'FAILED_TO_CREATE_SESSION') return;
  const user = await prisma.user.findUnique({ where: { email: ctx.body.email.toLowerCase() } });
  if (user?.disabled) ctx.context.returned = APIError.from('UNAUTHORIZED', WRONG_PASSWORD);
}

const SESSION_REVOKING_PATHS = ['/revoke-session', '/revoke-sessions', '/revoke-other-sessions'];

/** Audits (and for a password change, revokes every other credential) after a person's own account change. */
export async function auditAccountChange(prisma: Db, ctx: HookContext & Parameters<typeof getSessionFromCtx>[0]) {
  const returned = ctx.context.returned;
  if (!ctx.path || isAPIError(returned) || returned === undefined) return;
  const tracked = ctx.path === '/change-password' || ctx.path === '/update-user' || SESSION_REVOKING_PATHS.includes(ctx.path);
  if (!tracked) return;
  const session = ctx.context.session ?? (await getSessionFromCtx(ctx).catch(() => null));
  if (!session) return;
  const actor = await actorOfUser(prisma, session.user.id);
  const newToken = (returned as { token?: string | null }).token ?? undefined;
  await prisma.$transaction(async (tx) => {
    if (ctx.path === '/change-password') {
      await appendAuditEvent(tx, { actor, action: 'user.password_changed', targetType: 'user', targetId: actor.id, details: { email: actor.email } });
      await revokeCredentialsOf(tx, actor, actor, 'the password was changed', newToken ?? session.session.token);
    } else if (ctx.path === '/update-user') {
      const fields = Object.keys(ctx.body ?? {}).filter((k) => k === 'name' || k === 'image');
      await appendAuditEvent(tx, { actor, action: 'user.profile_changed', targetType: 'user', targetId: actor.id, details: { email: actor.email, fields } });
    } else {
      await appendAuditEvent(tx, { actor, action: 'session.revoked', targetType: 'user', targetId: actor.id, details: { email: actor.email, why: `${ctx.path!.slice(1)} by the user` } });
    }
  });
}

/** Deletes every `token` field from a JSON result: top level, `session`, and lists of sessions. */
export function stripSessionTokens(ctx: HookContext) {
  const strip = (value: unknown) => {
    if (value && typeof value === 'object' && 'token' in value) delete (value as { token?: unknown }).token;
  };
  const returned = ctx.context.returned;
  if (!returned || typeof returned !== 'object' || isAPIError(returned) || returned instanceof Response) return;
  if (Array.isArray(returned)) returned.forEach(strip);
  strip(returned);
  strip((returned as { session?: unknown }).session);
}
