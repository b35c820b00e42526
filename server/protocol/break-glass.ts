import { z } from 'zod';

// A break-glass made on a host while the console was down (docs/rollouts.md#break-glass): the host's local admin
// moved one module back to the last stable the console had it run. The host posts this to FLEET_PATHS.breakGlass
// once a console answers again, before it takes the console's desired state; the console adopts it or refuses it.

const sm3 = z.string().regex(/^[0-9a-f]{64}$/, 'an SM3 is 64 lower-case hex digits');
const versionRef = z.object({ version: z.string().min(1).max(64), sm3 });

/** The longest reason the console takes; the host refuses a longer one before it rolls back. */
export const MAX_BREAK_GLASS_REASON = 2000;

export const hostBreakGlassSchema = z.object({
  /** Random, once per break-glass: the console refuses an id it has seen (a replay). */
  id: z.uuid(),
  module: z.string().min(1).max(64),
  /** What served before: the version alone at 100 %, or the canary's when a rollout was on. */
  from: versionRef.nullable(),
  /** The last stable the console had this host run, now serving all traffic. */
  to: versionRef,
  reason: z.string().trim().min(3).max(MAX_BREAK_GLASS_REASON),
  /** When the host's admin pulled it (ISO-8601). */
  at: z.iso.datetime(),
  /** The console's generation the host was running when it did. */
  generation: z.number().int().min(0),
});
export type HostBreakGlass = z.infer<typeof hostBreakGlassSchema>;
