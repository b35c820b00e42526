import 'server-only';
import { z } from 'zod';
import { permissionsOf } from '../../auth/permissions';
import { createApiToken, listApiTokens, revokeApiToken } from '../../auth/api-tokens';
import { authedProcedure, createRouter, permittedProcedure } from '../trpc';

export const meRouter = createRouter({
  whoami: authedProcedure.query(({ ctx }) => ({
    id: ctx.user.id,
    name: ctx.user.name,
    email: ctx.user.email,
    roles: ctx.user.roles,
    permissions: [...permissionsOf(ctx.user.roles)],
  })),
  tokens: permittedProcedure('tokens.own').query(({ ctx }) => listApiTokens(ctx.db, ctx.user.id)),
  createToken: permittedProcedure('tokens.own')
    .input(z.object({ name: z.string().trim().min(1, 'name the token after where it is used, e.g. "release laptop"').max(80) }))
    .mutation(({ ctx, input }) => createApiToken(ctx.db, ctx.actor, input.name)),
  revokeToken: permittedProcedure('tokens.own')
    .input(z.object({ tokenId: z.string() }))
    .mutation(({ ctx, input }) => revokeApiToken(ctx.db, ctx.actor, input.tokenId)),
});
