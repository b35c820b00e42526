import type { Db } from '../../server/db/client';
import type { RuntimeHost } from './runtime-host';

// What the fleet proof watches while it runs: when each generation of the desired state was committed
// (FleetGeneration.updatedAt) and when each host first said, on its own /v1/status, that it applied it.

export interface PropagationWatch {
  /** generation → commit time (epoch ms). */
  committed: Map<number, number>;
  /** host id → generation → first seen applied (epoch ms). */
  applied: Map<string, Map<number, number>>;
  stop(): void;
}

const POLL_MS = 100;

export function watchPropagation(db: Db, hosts: ReadonlyMap<string, RuntimeHost>): PropagationWatch {
  const committed = new Map<number, number>();
  const applied = new Map<string, Map<number, number>>([...hosts.keys()].map((id) => [id, new Map()]));
  let running = true;
  const loop = async (read: () => Promise<void>) => {
    while (running) {
      await read().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
  void loop(async () => {
    // The database may be down on purpose: a failed read only leaves a gap.
    const row = await db.fleetGeneration.findUnique({ where: { id: 1 } });
    if (row && !committed.has(row.generation)) committed.set(row.generation, row.updatedAt.getTime());
  });
  for (const [id, host] of hosts) {
    void loop(async () => {
      const status = await host.status();
      const seen = applied.get(id)!;
      if (!seen.has(status.generation)) seen.set(status.generation, Date.now());
    });
  }
  return { committed, applied, stop: () => (running = false) };
}

/**
 * Commit → applied delays of every generation committed after `since` that a host was seen applying, leaving out
 * generations committed inside one of the `excluded` spans [from, to).
 */
export function propagationDelays(watch: PropagationWatch, since: number, excluded: readonly (readonly [number, number])[] = []): number[] {
  const delays: number[] = [];
  for (const [generation, at] of watch.committed) {
    if (at < since || excluded.some(([from, to]) => at >= from && at < to)) continue;
    for (const seen of watch.applied.values()) {
      const appliedAt = seen.get(generation);
      if (appliedAt !== undefined) delays.push(Math.max(0, appliedAt - at));
    }
  }
  return delays;
}

interface AuditRow {
  action: string;
  details: string;
}

/**
 * Every rollout audit event a run in waves should write once, keyed by action, wave and step; the counts show a
 * duplicate (a step or preflight run twice) or a gap (a step skipped).
 */
export function stepEventCounts(events: readonly AuditRow[], waves: number, steps: number): { expected: string[]; counts: Map<string, number> } {
  const expected = ['rollout.preflight_passed'];
  for (let w = 1; w <= waves; w++) {
    for (let s = 1; s <= steps; s++) expected.push(...['step_started', 'step_confirmed', 'step_passed'].map((a) => `rollout.${a} w${w} s${s}`));
    if (w < waves) expected.push(`rollout.wave_passed w${w}`);
  }
  expected.push('rollout.promoted');
  const counts = new Map<string, number>();
  let wave = 1;
  for (const event of events) {
    const details = JSON.parse(event.details) as { step?: number; wave?: number };
    if (event.action === 'rollout.step_started' && details.wave) wave = details.wave;
    const key = event.action === 'rollout.wave_passed' ? `${event.action} w${details.wave ?? wave}` : details.step ? `${event.action} w${wave} s${details.step}` : event.action;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { expected, counts };
}
