import { z } from 'zod';
import { CHANGE_STATES, ROLLOUT_TRIGGERS } from '../rollout/change-request.types';

// The overview's shape, shared by the procedure's `.output()`, the landing page and the CLI.

const time = z.date();
const trigger = z.enum(ROLLOUT_TRIGGERS);

export const overviewRollout = z.object({
  id: z.string(),
  module: z.string(),
  state: z.enum(CHANGE_STATES),
  from: z.string(),
  to: z.string(),
  requestedBy: z.string(),
  step: z.object({ index: z.number(), of: z.number(), weight: z.number(), phase: z.string().nullable() }).nullable(),
  holdUntil: time.nullable(),
  latestVerdict: z.object({ verdict: z.enum(['pass', 'breach', 'inconclusive']), metric: z.string().nullable(), time }).nullable(),
});

export const overviewApproval = z.object({
  id: z.string(),
  module: z.string(),
  from: z.string(),
  to: z.string(),
  requestedBy: z.string(),
  reason: z.string(),
  approvals: z.number(),
  requiredApprovals: z.number(),
  createdAt: time,
});

export const overviewBreaker = z.object({ module: z.string(), until: z.number(), reason: z.string() });

export const overviewRollback = z.object({
  changeRequestId: z.string(),
  module: z.string(),
  from: z.string(),
  to: z.string(),
  at: time,
  trigger: trigger.nullable(),
  by: z.string().nullable(),
  why: z.string(),
  reviewId: z.string().nullable(),
});

export const overviewReview = z.object({
  id: z.string(),
  module: z.string(),
  from: z.string(),
  to: z.string(),
  openedBy: z.string(),
  openedAt: time,
  dueAt: time.nullable(),
  overdue: z.boolean(),
});

export const overviewHost = z.object({ id: z.string(), name: z.string(), zone: z.string(), problem: z.enum(['silent', 'out-of-sync']), reason: z.string() });

export const overviewFlaggedVersion = z.object({
  module: z.string(),
  version: z.string(),
  problem: z.enum(['withdrawn', 'resident', 'load-failed']),
  host: z.string().nullable(),
  reason: z.string(),
});

export const overviewOutput = z.object({
  rollouts: z.array(overviewRollout),
  /** Requests this person may sign off: listed for approvers, counted only for everyone else. */
  approvals: z.object({ mine: z.boolean(), waiting: z.number(), items: z.array(overviewApproval) }),
  breakers: z.array(overviewBreaker),
  rollbacks: z.array(overviewRollback),
  reviews: z.array(overviewReview),
  hosts: z.array(overviewHost),
  versions: z.array(overviewFlaggedVersion),
});
export type Overview = z.infer<typeof overviewOutput>;
