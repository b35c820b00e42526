import 'server-only';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { approveChange, rejectChange } from '../../../rollout/approvals';
import { cancelChange, editChange, proposeChange, submitChange } from '../../../rollout/change-request';
import { approveInput, CHANGE_STATES, editInput, proposeInput, reasonInput, rejectInput } from '../../../rollout/change-request.types';
import { rolloutSettings } from '../../../rollout/settings';
import { proposeWholeChange } from '../../../rollout/whole-change';
import { proposeDesiredInput } from '../../../rollout/whole-change.types';
import { decisionsNewestFirst, requestPageDetail } from '../../../rollout/request-view';
import { approvalQueue, digestForSigning, listChanges, listDecisions, moduleTimeline } from '../../../rollout/views';
import { createRouter, permittedProcedure } from '../../trpc';

// Change requests: proposing and editing (operators), approving and rejecting (approvers), reading (everyone).

const WATCH_POLL_MS = 500;

const read = permittedProcedure('changes.read');
const propose = permittedProcedure('changes.propose');
const approve = permittedProcedure('changes.approve');
const idInput = z.object({ id: z.string().min(1) });

const listChangesInput = z.object({
  state: z.array(z.enum(CHANGE_STATES)).optional(),
  module: z.string().optional(),
  /** Proposed by the caller. */
  mine: z.boolean().optional(),
  /** Waiting for the caller's approval (not proposed by them, not yet approved by them). */
  waitingForMe: z.boolean().optional(),
  limit: z.number().int().min(1).max(200).default(50),
  /** createdAt of the last row seen, for the next page. */
  before: z.iso.datetime().optional(),
});

export const changesRouter = createRouter({
  list: read.input(listChangesInput).query(({ ctx, input }) => listChanges(ctx.db, input, ctx.user.id)),
  get: read.input(idInput).query(async ({ ctx, input }) => ({ ...(await requestPageDetail(ctx.db, input.id, ctx.user.id, rolloutSettings().breaker)), serverTime: Date.now() })),
  /** The request page, live (SSE): the detail again whenever anything in it changed, with the server's clock for its countdowns. */
  watch: read.input(idInput).subscription(async function* ({ ctx, input, signal }) {
    let last = '';
    while (!signal?.aborted) {
      const detail = await requestPageDetail(ctx.db, input.id, ctx.user.id, rolloutSettings().breaker);
      const text = JSON.stringify(detail);
      if (text !== last) {
        last = text;
        yield { ...detail, serverTime: Date.now() };
      }
      await sleep(WATCH_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }),
  /** Waiting for approval and not proposed by the caller. */
  queue: read.query(({ ctx }) => approvalQueue(ctx.db, ctx.user.id)),
  /** Oldest first after `afterId`; or, with `beforeId` or `newestFirst`, newest first before `beforeId` (the request page's history). */
  decisions: read
    .input(
      z.object({
        id: z.string().min(1),
        afterId: z.number().int().optional(),
        beforeId: z.number().int().optional(),
        newestFirst: z.boolean().optional(),
        limit: z.number().int().min(1).max(2000).optional(),
      }),
    )
    .query(({ ctx, input }) =>
      input.newestFirst || input.beforeId !== undefined ? decisionsNewestFirst(ctx.db, input.id, { beforeId: input.beforeId, limit: input.limit ?? 500 }) : listDecisions(ctx.db, input.id, input),
    ),
  /** Canary weight changes of one module over the last `seconds`: markers for its charts. */
  timeline: read
    .input(z.object({ module: z.string().min(1), seconds: z.number().int().min(10).max(86_400) }))
    .query(({ ctx, input }) => moduleTimeline(ctx.db, input.module, Date.now() - input.seconds * 1000)),
  /** What to sign: the 32 bytes of `digest` (hex), with the canonical text it hashes. */
  digest: read.input(idInput).query(({ ctx, input }) => digestForSigning(ctx.db, input.id)),

  propose: propose.input(proposeInput).mutation(async ({ ctx, input }) => {
    const row = await proposeChange(ctx.db, ctx.actor, input);
    return { id: row.id, revision: row.revision, digest: row.digest, state: row.state, requiredApprovals: row.requiredApprovals };
  }),
  /** The module page's form: its first version, a settings change or a removal, as the whole desired state after. */
  proposeDesired: propose.input(proposeDesiredInput).mutation(async ({ ctx, input }) => {
    const row = await proposeWholeChange(ctx.db, ctx.actor, input);
    return { id: row.id, kind: row.kind, revision: row.revision, digest: row.digest, state: row.state, requiredApprovals: row.requiredApprovals };
  }),
  edit: propose.input(editInput).mutation(async ({ ctx, input }) => {
    const row = await editChange(ctx.db, ctx.actor, input);
    return { id: row.id, revision: row.revision, digest: row.digest, state: row.state };
  }),
  submit: propose.input(idInput).mutation(async ({ ctx, input }) => ({ state: (await submitChange(ctx.db, ctx.actor, input.id)).state })),
  cancel: propose.input(reasonInput).mutation(async ({ ctx, input }) => ({ state: (await cancelChange(ctx.db, ctx.actor, input.id, input.reason)).state })),

  approve: approve.input(approveInput).mutation(({ ctx, input }) => approveChange(ctx.db, ctx.actor, input, { ttlMs: rolloutSettings().approvalTtlMs })),
  reject: approve.input(rejectInput).mutation(({ ctx, input }) => rejectChange(ctx.db, ctx.actor, input)),
});
