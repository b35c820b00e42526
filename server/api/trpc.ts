import 'server-only';
import { initTRPC, TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { ZodError } from 'zod';
import { consoleOrigin } from '../auth/auth';
import { can, type Permission } from '../auth/permissions';
import { actorOf, isCrossOriginRequest, resolveSessionUser, type SessionUser } from '../auth/session';
import { db } from '../db/client';
import { databaseLocked } from '../db/lock-wait';
import { DomainError, DomainErrorCode } from '../errors';

export async function createContext({ headers }: { headers: Headers }) {
  return { db: db(), headers, user: await resolveSessionUser(headers) };
}
export type Context = Awaited<ReturnType<typeof createContext>>;

const TRPC_CODE: Record<DomainErrorCode, TRPC_ERROR_CODE_KEY> = {
  [DomainErrorCode.NotFound]: 'NOT_FOUND',
  [DomainErrorCode.InvalidInput]: 'BAD_REQUEST',
  [DomainErrorCode.Conflict]: 'CONFLICT',
  [DomainErrorCode.Forbidden]: 'FORBIDDEN',
  [DomainErrorCode.Unauthenticated]: 'UNAUTHORIZED',
  [DomainErrorCode.CrossOrigin]: 'FORBIDDEN',
  [DomainErrorCode.ArtifactRejected]: 'UNPROCESSABLE_CONTENT',
  [DomainErrorCode.PayloadTooLarge]: 'PAYLOAD_TOO_LARGE',
  [DomainErrorCode.Unavailable]: 'SERVICE_UNAVAILABLE',
};

// Every procedure names the right it needs; the role-matrix test reads this from the router.
export interface ProcedureMeta {
  permission?: Permission;
  access?: 'public' | 'signed-in';
}

const t = initTRPC.context<Context>().meta<ProcedureMeta>().create({
  // Pings keep an idle stream (a table with nothing changing) open through proxies; a client that hears nothing,
  // not even a ping, for a while reconnects with its lastEventId. Streams also end every 30 s and the client
  // reconnects (resuming from its lastEventId): a console that went away is noticed within that, even where the
  // old connection lingers half-open, and the page falls back to polling.
  sse: { ping: { enabled: true, intervalMs: 5_000 }, client: { reconnectAfterInactivityMs: 15_000 }, maxDurationMs: 30_000 },
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    return {
      ...shape,
      message:
        cause instanceof ZodError
          ? cause.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')
          : shape.message,
      data: {
        ...shape.data,
        domainCode: cause instanceof DomainError ? cause.code : undefined,
        zodIssues: cause instanceof ZodError ? cause.issues : undefined,
      },
    };
  },
});

export const createRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

// Domain errors thrown anywhere below become the matching tRPC code, with the domain message intact (a database
// locked elsewhere too, though Prisma wraps that one).
const domainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  const cause = result.ok ? null : result.error.cause instanceof DomainError ? result.error.cause : databaseLocked(result.error.cause);
  if (cause) throw new TRPCError({ code: TRPC_CODE[cause.code], message: cause.message, cause });
  return result;
});

const sameOriginMutations = t.middleware(({ ctx, type, next }) => {
  if (type === 'mutation' && ctx.user?.via !== 'token' && isCrossOriginRequest(ctx.headers, consoleOrigin())) {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'cross-origin request refused: use the console itself' });
  }
  return next();
});

export const publicProcedure = t.procedure.meta({ access: 'public' }).use(domainErrors).use(sameOriginMutations);

export const authedProcedure = publicProcedure.meta({ access: 'signed-in' }).use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in first' });
  const user = ctx.user as SessionUser;
  // The one place a session becomes the actor that audit events name.
  return next({ ctx: { ...ctx, user, actor: actorOf(user) } });
});

export function permittedProcedure(permission: Permission) {
  return authedProcedure.meta({ permission }).use(({ ctx, next }) => {
    if (!can(ctx.user.roles, permission)) {
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: `your roles (${ctx.user.roles.join(', ') || 'none'}) do not include the right "${permission}"`,
      });
    }
    return next();
  });
}
