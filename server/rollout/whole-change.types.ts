import { z } from 'zod';

// A change of what runs given as the module's whole desired state afterwards (the module page's form): a
// first version, a settings change (weights, hp_init config, isolation, timeouts) or a removal. Validated at
// the edge and again against the registry when proposed and when started.

export const WHOLE_CHANGE_KINDS = ['first', 'settings', 'remove'] as const;
export type WholeChangeKind = (typeof WHOLE_CHANGE_KINDS)[number];
export const CHANGE_KINDS = ['upgrade', ...WHOLE_CHANGE_KINDS] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export const versionChoice = z.object({
  version: z.string().trim().min(1, 'name a version'),
  weight: z.number().int('weights are whole percentages').min(0, 'a weight is 0..100').max(100, 'a weight is 0..100'),
  isolation: z.enum(['inproc', 'process']),
  config: z.string().max(64 * 1024, 'config is at most 64 KiB').optional(),
});
export type VersionChoice = z.infer<typeof versionChoice>;

export const proposeDesiredInput = z
  .object({
    module: z.string().trim().min(1, 'name the module').max(64),
    /** Empty, or every weight 0, removes the module from every host. */
    versions: z.array(versionChoice).max(8, 'at most 8 versions of one module at a time'),
    requestTimeoutMs: z.number().int().min(10, 'request timeout is at least 10 ms').max(600_000, 'request timeout is at most 10 minutes').optional(),
    drainDeadlineMs: z.number().int().min(0).max(3_600_000, 'drain deadline is at most an hour').optional(),
    reason: z.string().trim().min(3, 'say why this change is wanted').max(2000),
    ticket: z.string().trim().max(100).default(''),
    submit: z.boolean().default(true),
  })
  .superRefine((input, ctx) => {
    const names = input.versions.map((v) => v.version);
    const repeated = names.filter((name, i) => names.indexOf(name) !== i);
    if (repeated.length) ctx.addIssue({ code: 'custom', path: ['versions'], message: `version ${repeated[0]} is listed twice` });
    const total = input.versions.reduce((sum, v) => sum + v.weight, 0);
    if (total !== 100 && total !== 0) {
      ctx.addIssue({ code: 'custom', path: ['versions'], message: `weights add up to ${total}; they must add up to 100 (or all be 0 to remove the module)` });
    }
  });
export type ProposeDesiredInput = z.input<typeof proposeDesiredInput>;
