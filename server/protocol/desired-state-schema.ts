import { z } from 'zod';
import type { DesiredModule, DesiredState, DesiredVersion } from './wire-types';

// The zod face of DesiredState (wire-types.ts): what a host accepts from a console (and from its local admin). A
// state that fails it is refused whole, so a console bug or a tampered answer can never half-apply.

const sm3 = z.string().regex(/^[0-9a-f]{64}$/, 'an SM3 digest is 64 lower-case hex digits');
const name = z.string().min(1).max(200);
const milliseconds = z.number().int().positive().max(24 * 3_600_000);

const desiredVersion = z.object({
  version: name,
  sm3,
  weight: z.number().int().min(0).max(100),
  isolation: z.enum(['process', 'inproc']),
  config: z.string().max(1_048_576).optional(),
  signerSerial: z.string().max(200).optional(),
}) satisfies z.ZodType<DesiredVersion>;

const desiredModule = z
  .object({
    module: name,
    versions: z.array(desiredVersion).max(100),
    requestTimeoutMs: milliseconds.optional(),
    drainDeadlineMs: milliseconds.optional(),
    handOff: z.object({ from: name, to: name, id: z.string().min(1).max(200) }).optional(),
  })
  .refine((m) => new Set(m.versions.map((v) => v.version)).size === m.versions.length, 'a version is named twice')
  .refine((m) => m.versions.reduce((sum, v) => sum + v.weight, 0) <= 100, 'the weights add up to more than 100') satisfies z.ZodType<DesiredModule>;

export const desiredStateSchema = z
  .object({
    generation: z.number().int().min(0),
    modules: z.array(desiredModule).max(1_000),
    revoked: z.array(sm3).max(100_000).optional(),
  })
  .refine((s) => new Set(s.modules.map((m) => m.module)).size === s.modules.length, 'a module is named twice') satisfies z.ZodType<DesiredState>;

/** The state, or what is wrong with it in words (at most five issues, each with its path). */
export function parseDesiredState(json: unknown): { ok: true; state: DesiredState } | { ok: false; problem: string } {
  const parsed = desiredStateSchema.safeParse(json);
  if (parsed.success) return { ok: true, state: parsed.data };
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'state'}: ${i.message}`);
  return { ok: false, problem: `not a DesiredState: ${issues.join('; ')}` };
}
