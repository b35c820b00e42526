import 'server-only';
import { can } from '../../auth/permissions';
import { overview } from '../../overview/overview';
import { overviewOutput } from '../../overview/overview.types';
import { rolloutSettings } from '../../rollout/settings';
import { createRouter, permittedProcedure } from '../trpc';

// The landing page: what needs someone now (server/overview/overview.ts).
export const overviewRouter = createRouter({
  get: permittedProcedure('changes.read')
    .output(overviewOutput)
    .query(({ ctx }) => overview(ctx.db, { id: ctx.user.id, approves: can(ctx.user.roles, 'changes.approve') }, rolloutSettings())),
});
