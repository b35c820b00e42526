import 'server-only';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { betterAuth } from 'better-auth';
import { prismaAdapter } from 'better-auth/adapters/prisma';
import { APIError, createAuthMiddleware, getSessionFromCtx, isAPIError } from 'better-auth/api';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import { config } from '../config';
import { db, type Db } from '../db/client';
import { accountLockedUntil, LOCKOUT_FAILURES } from './account-lockout';
import { auditAccountChange, checkNewPassword, disguiseDisabledSignIn, stripSessionTokens } from './account-events';
import { LOGIN_ATTEMPTS_PER_MINUTE, MIN_PASSWORD_LENGTH } from './password-policy';
import { parseRoles } from './permissions';
import { ensurePrivateDir } from '../secrets-at-rest';


// The session-signing secret is generated once per installation and kept beside the database.
function authSecret(dataDir: string): string {
  if (process.env.BETTER_AUTH_SECRET) return process.env.BETTER_AUTH_SECRET;
  const file = path.join(dataDir, 'auth-secret');
  if (!existsSync(file)) {
    ensurePrivateDir(dataDir);
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return readFileSync(file, 'utf8').trim();
}

export function consoleOrigin(): string {
  return config().publicOrigin ?? `http://localhost:${process.env.PORT ?? 3000}`;
}

async function recordSessionEvent(
  prisma: Db,
  action: 'session.login' | 'session.logout' | 'session.login_failed' | 'session.login_refused_locked',
  actor: AuditActor,
  details: Record<string, string | null>,
) {
  await prisma.$transaction((tx) => appendAuditEvent(tx, { actor, action, targetType: 'user', targetId: actor.id, details }));
}

async function actorOfUserId(prisma: Db, userId: string): Promise<AuditActor> {
  const user = await prisma.user.findUnique({ where: { id: userId } });
  return { id: userId, name: user?.email ?? userId, roles: parseRoles(user?.roles) };
}

// Sign-in, failed sign-in and sign-out are audit events; better-auth commits its own session rows, so these
// follow in their own transaction right after.
function sessionAuditHooks(prisma: Db) {
  return {
    before: createAuthMiddleware(async (ctx) => {
      checkNewPassword(ctx);
      if (ctx.path === '/sign-in/email' && typeof ctx.body?.email === 'string') {
        const until = await accountLockedUntil(prisma, ctx.body.email);
        if (until !== null) {
          const email = ctx.body.email.toLowerCase().slice(0, 200);
          const ip = ctx.request?.headers.get('x-forwarded-for') ?? null;
          await recordSessionEvent(prisma, 'session.login_refused_locked', { id: 'anonymous', name: email, roles: [] }, { ip, email, lockedUntil: new Date(until).toISOString() });
          const minutes = Math.max(1, Math.ceil((until - Date.now()) / 60_000));
          throw new APIError('TOO_MANY_REQUESTS', {
            message: `This account is locked for ${minutes} more minute(s) after ${LOCKOUT_FAILURES} failed sign-ins; wait, or ask an admin to check the audit log.`,
          });
        }
      }
      if (ctx.path !== '/sign-out') return;
      const session = await getSessionFromCtx(ctx).catch(() => null);
      if (session) await recordSessionEvent(prisma, 'session.logout', await actorOfUserId(prisma, session.user.id), { sessionId: session.session.id });
    }),
    after: createAuthMiddleware(async (ctx) => {
      await disguiseDisabledSignIn(prisma, ctx);
      await auditAccountChange(prisma, ctx);
      stripSessionTokens(ctx);
      if (ctx.path !== '/sign-in/email') return;
      const ip = ctx.request?.headers.get('x-forwarded-for') ?? null;
      const newSession = ctx.context.newSession;
      if (newSession) {
        await recordSessionEvent(prisma, 'session.login', await actorOfUserId(prisma, newSession.user.id), { ip, sessionId: newSession.session.id });
      } else if (isAPIError(ctx.context.returned)) {
        const email = typeof ctx.body?.email === 'string' ? ctx.body.email.toLowerCase().slice(0, 200) : '(none)';
        await recordSessionEvent(prisma, 'session.login_failed', { id: 'anonymous', name: email, roles: [] }, { ip, email });
      }
    }),
  };
}

function createAuth(prisma: Db) {
  const origin = consoleOrigin();
  return betterAuth({
    appName: 'Hotplane',
    baseURL: origin,
    secret: authSecret(config().dataDir),
    database: prismaAdapter(prisma, { provider: 'sqlite' }),
    trustedOrigins: [origin, origin.replace('localhost', '127.0.0.1')],
    // Accounts are created by an admin (or the first start), never by visitors.
    disabledPaths: ['/sign-up/email'],
    emailAndPassword: {
      enabled: true,
      minPasswordLength: MIN_PASSWORD_LENGTH,
      autoSignIn: false,
    },
    user: {
      additionalFields: {
        roles: { type: 'string', required: false, defaultValue: '', input: false },
        disabled: { type: 'boolean', required: false, defaultValue: false, input: false },
      },
    },
    session: {
      expiresIn: 60 * 60 * 12,
      updateAge: 60 * 15,
    },
    rateLimit: {
      enabled: true,
      storage: 'database',
      window: 60,
      max: 300,
      customRules: {
        '/sign-in/email': { window: 60, max: LOGIN_ATTEMPTS_PER_MINUTE },
      },
    },
    advanced: {
      useSecureCookies: origin.startsWith('https://'),
      defaultCookieAttributes: { httpOnly: true, sameSite: 'strict' },
      ipAddress: { ipAddressHeaders: ['x-forwarded-for'] },
    },
    hooks: sessionAuditHooks(prisma),
    databaseHooks: {
      session: {
        create: {
          // A disabled account cannot open a session, whatever its password.
          before: async (session) => {
            const user = await prisma.user.findUnique({ where: { id: session.userId } });
            return !user?.disabled;
          },
        },
      },
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;

const holder = globalThis as unknown as { hotplaneAuth?: Auth };

export function auth(): Auth {
  holder.hotplaneAuth ??= createAuth(db());
  return holder.hotplaneAuth;
}
