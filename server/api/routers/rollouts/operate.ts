import 'server-only';
import { z } from 'zod';
import { fleetMetrics } from '../../../fleet/metrics-store';
import { reasonInput, rollbackInput } from '../../../rollout/change-request.types';
import { moduleBreaker, overrideBreaker } from '../../../rollout/circuit-breaker';
import { abortRollout, pauseRollout, promoteNow, resumeRollout, startRollout, type OperateDeps } from '../../../rollout/operate';
import { rollbackModule, rollbackTargets } from '../../../rollout/rollback';
import { reviewDetail } from '../../../rollout/review-detail';
import { acknowledgeReview, listReviews } from '../../../rollout/reviews';
import { rolloutSettings } from '../../../rollout/settings';
import type { Context } from '../../trpc';
import { createRouter, permittedProcedure } from '../../trpc';

// Running rollouts (operators), one-click rollback (on-call and operators), post-incident reviews (approvers),
// the circuit breaker (admins override it).

const operate = permittedProcedure('rollouts.operate');
const idInput = z.object({ id: z.string().min(1) });
const deps = (ctx: Context): OperateDeps => ({ db: ctx.db, settings: rolloutSettings(), metrics: fleetMetrics() });
const brief = (row: { id: string; state: string }) => ({ id: row.id, state: row.state });

export const operateRouter = createRouter({
  /** An approved request: preflight, then the canary steps (the engine runs them). */
  start: operate.input(idInput).mutation(async ({ ctx, input }) => {
    const result = await startRollout(deps(ctx), ctx.actor, input.id);
    return result.started ? { started: true as const, ...brief(result.row) } : result;
  }),
  pause: operate.input(idInput).mutation(async ({ ctx, input }) => brief(await pauseRollout(deps(ctx), ctx.actor, input.id))),
  resume: operate.input(idInput).mutation(async ({ ctx, input }) => brief(await resumeRollout(deps(ctx), ctx.actor, input.id))),
  /** Skip the remaining steps: the canary takes all traffic and becomes the stable. */
  promote: operate.input(idInput).mutation(async ({ ctx, input }) => brief(await promoteNow(deps(ctx), ctx.actor, input.id))),
  /** All traffic back to the stable; the canary is unloaded. */
  abort: operate.input(reasonInput).mutation(async ({ ctx, input }) => brief(await abortRollout(deps(ctx), ctx.actor, input.id, input.reason))),

  rollback: permittedProcedure('rollouts.rollback')
    .input(rollbackInput)
    .mutation(({ ctx, input }) => rollbackModule(ctx.db, ctx.actor, input, rolloutSettings())),
  /** The on-call screen: every module, what runs, and where one click would take it. */
  targets: permittedProcedure('changes.read').query(({ ctx }) => rollbackTargets(ctx.db)),

  reviews: permittedProcedure('changes.read')
    .input(z.object({ open: z.boolean().default(false), module: z.string().min(1).optional(), limit: z.number().int().min(1).max(500).default(100) }))
    .query(({ ctx, input }) => listReviews(ctx.db, input)),
  /** One review: what happened, its timeline from the audit trail, and why this viewer may not acknowledge it. */
  review: permittedProcedure('changes.read').input(idInput).query(({ ctx, input }) => reviewDetail(ctx.db, input.id, ctx.user.id)),
  acknowledgeReview: permittedProcedure('reviews.acknowledge')
    .input(z.object({ id: z.string().min(1), note: z.string().trim().min(3, 'say what was learned or decided').max(4000) }))
    .mutation(({ ctx, input }) => acknowledgeReview(ctx.db, ctx.actor, input)),

  breaker: permittedProcedure('changes.read')
    .input(z.object({ module: z.string().min(1) }))
    .query(({ ctx, input }) => moduleBreaker(ctx.db, input.module, Date.now(), rolloutSettings().breaker)),
  overrideBreaker: permittedProcedure('breaker.override')
    .input(z.object({ module: z.string().min(1), reason: z.string().trim().min(3, 'say why rollouts may go ahead').max(2000) }))
    .mutation(({ ctx, input }) => overrideBreaker(ctx.db, ctx.actor, input.module, input.reason, rolloutSettings().breaker)),
});
