import 'server-only';
import { z } from 'zod';
import { getReport, listModules, moduleDetail, recentReports, revokeVersion } from '../../artifacts/catalog';
import { createRouter, permittedProcedure } from '../trpc';

const readModules = permittedProcedure('modules.read');

export const modulesRouter = createRouter({
  list: readModules.query(({ ctx }) => listModules(ctx.db)),
  detail: readModules.input(z.object({ name: z.string() })).query(({ ctx, input }) => moduleDetail(ctx.db, input.name)),
  recentReports: readModules.query(({ ctx }) => recentReports(ctx.db)),
  report: readModules.input(z.object({ id: z.string() })).query(({ ctx, input }) => getReport(ctx.db, input.id)),
  revokeVersion: permittedProcedure('artifacts.revoke')
    .input(z.object({ versionId: z.string(), reason: z.string().trim().min(3, 'say why the version is revoked') }))
    .mutation(({ ctx, input }) => revokeVersion(ctx.db, ctx.actor, input.versionId, input.reason)),
});
