import { z } from 'zod';
import { zoneName } from '../fleet/zone-name';

// The shapes a change request is made of, validated at the edge (tRPC, CLI) and trusted inside.

export const CHANGE_STATES = [
  'Draft',
  'PendingApproval',
  'Approved',
  'Rejected',
  'Preflight',
  'Canary',
  'Paused',
  'Promoted',
  'RolledBack',
  'Aborted',
  'Failed',
  'Cancelled',
] as const;
export type ChangeState = (typeof CHANGE_STATES)[number];

/** A rollout is running: the engine owns the module's desired state. */
export const ACTIVE_STATES: readonly ChangeState[] = ['Preflight', 'Canary', 'Paused'];
/** Nothing more happens to the request (a Promoted one may still be rolled back by one click). */
export const FINISHED_STATES: readonly ChangeState[] = ['Promoted', 'RolledBack', 'Aborted', 'Failed'];

export const stepSchema = z.object({
  weight: z.number().int('a weight is a whole percentage').min(1, 'a step gives the canary 1..100 %').max(100, 'a step gives the canary 1..100 %'),
  holdSeconds: z.number().int().min(0).max(86_400, 'a hold is at most a day'),
});
export type RolloutStep = z.infer<typeof stepSchema>;

export const analysisSchema = z.object({
  /** How often the canary is judged. */
  intervalSeconds: z.number().min(0.1).max(60).default(1),
  /** The sliding window each judgement looks at, in whole seconds (metrics arrive per second). */
  windowSeconds: z.number().int().min(1).max(600).default(10),
  /** Fewer canary requests than this in the window is inconclusive: the step holds, it never passes. */
  minRequests: z.number().int().min(1).max(1_000_000).default(20),
  maxErrorPercent: z.number().min(0).max(100).default(1),
  /** Canary error rate at most this many times the stable's. */
  maxErrorRatio: z.number().min(1).max(1000).default(2),
  /** Canary p95 at most this many times the stable's (1.2 = +20 %)… */
  maxP95Ratio: z.number().min(1).max(1000).default(1.2),
  /** …unless it is slower by less than this: sub-millisecond latencies jitter by more than 20 %. */
  p95NoiseMs: z.number().min(0).max(60_000).default(5),
  maxP95Ms: z.number().positive().max(600_000).default(1000),
});
export type AnalysisSettings = z.infer<typeof analysisSchema>;

export const DEFAULT_STEPS: RolloutStep[] = [
  { weight: 5, holdSeconds: 30 },
  { weight: 25, holdSeconds: 30 },
  { weight: 50, holdSeconds: 30 },
  { weight: 100, holdSeconds: 30 },
];

export const planSchema = z
  .object({
    steps: z.array(stepSchema).min(1).max(20).default(DEFAULT_STEPS),
    analysis: analysisSchema.default(analysisSchema.parse({})),
    /** A step not passed this long after it started rolls back. */
    stepDeadlineSeconds: z.number().int().min(1).max(86_400).default(300),
    /** How long the previous stable stays loaded and warm after promotion. */
    rollbackWindowSeconds: z.number().int().min(0).max(7 * 86_400).default(1800),
    isolation: z.enum(['process', 'inproc']).default('process'),
    /**
     * Zones in the order the canary reaches them: every step runs in wave 1's zones, then in wave 2's, and so on;
     * zones named in no wave get the version at promotion. Absent: one wave of the whole fleet.
     */
    waves: z.array(z.array(zoneName).min(1, 'a wave names at least one zone').max(100)).min(1).max(20).optional(),
  })
  .superRefine((plan, ctx) => {
    const seen = new Set<string>();
    plan.waves?.forEach((wave, w) =>
      wave.forEach((zone, z) => {
        if (seen.has(zone)) ctx.addIssue({ code: 'custom', path: ['waves', w, z], message: `zone "${zone}" is in more than one wave; name each zone once` });
        seen.add(zone);
      }),
    );
    plan.steps.forEach((step, i) => {
      if (i > 0 && step.weight <= plan.steps[i - 1].weight) {
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'weight'], message: 'each step gives the canary more weight than the one before' });
      }
      if (step.holdSeconds >= plan.stepDeadlineSeconds) {
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'holdSeconds'], message: `a hold must end before the step deadline (${plan.stepDeadlineSeconds} s)` });
      }
    });
    if (plan.steps.at(-1)?.weight !== 100) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'the last step gives the canary 100 %' });
    }
  });
export type RolloutPlan = z.infer<typeof planSchema>;

const versionName = z.string().trim().min(1, 'name the target version').max(64);

export const proposeInput = z.object({
  module: z.string().trim().min(1, 'name the module').max(64),
  toVersion: versionName,
  plan: planSchema.default(planSchema.parse({})),
  reason: z.string().trim().min(3, 'say why this change is wanted').max(2000),
  ticket: z.string().trim().max(100).default(''),
  /** Straight to the approvers (true) or kept as a draft. */
  submit: z.boolean().default(true),
});
export type ProposeInput = z.input<typeof proposeInput>;

export const editInput = z.object({
  id: z.string().min(1),
  /** The revision the editor saw: an edit of a newer revision is refused rather than silently merged. */
  revision: z.number().int().min(1),
  toVersion: versionName.optional(),
  plan: planSchema.optional(),
  reason: z.string().trim().min(3).max(2000).optional(),
  ticket: z.string().trim().max(100).optional(),
});
export type EditInput = z.input<typeof editInput>;

export const approveInput = z.object({
  id: z.string().min(1),
  /** The digest the approver signed; it must be the request's current one. */
  digest: z.string().regex(/^[0-9a-f]{64}$/, 'the digest is 64 lower-case hex digits'),
  /** SM2 signature over the 32 digest bytes: DER or raw r‖s, as hex. */
  signature: z.string().trim().regex(/^[0-9a-fA-F]+$/, 'give the signature as hex').max(400),
});

export const rejectInput = z.object({
  id: z.string().min(1),
  revision: z.number().int().min(1),
  reason: z.string().trim().min(3, 'say why the change is rejected').max(2000),
});

export const reasonInput = z.object({
  id: z.string().min(1),
  reason: z.string().trim().min(3, 'give a reason').max(2000),
});

export const rollbackInput = z.object({
  module: z.string().trim().min(1),
  reason: z.string().trim().min(3, 'say why you roll back').max(2000),
});

/** What can end a rollout. host-break-glass: a host's admin rolled back while the console was down; the console adopted it on return. */
export const ROLLOUT_TRIGGERS = ['promoted', 'breach', 'deadline', 'abort', 'one-click', 'host-break-glass', 'preflight', 'load-failed'] as const;

/** What ended a rollout, so the UI can say exactly why. */
export interface RolloutOutcome {
  trigger: (typeof ROLLOUT_TRIGGERS)[number];
  message: string;
  metric?: string;
  value?: number | null;
  threshold?: number | null;
  window?: { from: string; to: string; seconds: number };
  by?: { id: string; name: string };
  reason?: string;
  /** The host a host-break-glass was made on. */
  host?: string;
}
