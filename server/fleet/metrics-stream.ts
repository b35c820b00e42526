import type { Db } from '../db/client';
import { moduleMetrics, pointOf, type VersionMetrics } from './metrics-query';
import { SETTLE_SECONDS, type FleetMetrics } from './metrics-store';

// The module page's charts by push: the whole window once, then only the seconds that settled since, plus any
// second drawn already that a host reported late (a busy host's report can lag its burst by seconds: without the
// redraw a chart would miss the very spike it is watched for). The id of each event is the last second it covers, so
// a client that reconnects with it (SSE lastEventId) gets exactly the seconds after it: no gap, no second twice.

export { SETTLE_SECONDS };

export const settledSecond = (now: number) => Math.floor(now / 1000) - SETTLE_SECONDS;

export interface MetricsWindowEvent {
  kind: 'window';
  module: string;
  /** First and last second drawn, epoch milliseconds. */
  from: number;
  to: number;
  versions: VersionMetrics[];
}

export interface MetricsAppendEvent {
  kind: 'append';
  /**
   * The window now ends at `to`; it starts `seconds` before. Versions hold the seconds after the last event and the
   * earlier ones that changed since (each replaces the point of its second).
   */
  to: number;
  versions: VersionMetrics[];
}

export type MetricsEvent = MetricsWindowEvent | MetricsAppendEvent;

export interface MetricsStreamInput {
  module: string;
  seconds: number;
  lastEventId?: string | null;
}

/** The whole window up to the last settled second. */
export async function metricsWindow(db: Db, store: FleetMetrics, input: { module: string; seconds: number }, now = Date.now()): Promise<MetricsWindowEvent> {
  // moduleMetrics ends at the second before `now`; shifting `now` ends it at the last settled second.
  const chart = await moduleMetrics(db, store, input, now - (SETTLE_SECONDS - 1) * 1000);
  return { kind: 'window', ...chart };
}

/**
 * The seconds in (after, until] and the `revised` ones (at or before `after`), from memory: only a cursor inside what
 * memory holds can be resumed.
 */
export function metricsAfter(store: FleetMetrics, module: string, after: number, until: number, revised: readonly number[] = []): MetricsAppendEvent {
  const redraw = new Set(revised);
  const versions = store
    .moduleSeconds(module, Math.min(after + 1, ...revised), until)
    .map(({ version, seconds }) => ({
      version,
      points: seconds.filter(({ second }) => second > after || redraw.has(second)).map(({ second, totals }) => pointOf(second * 1000, totals, totals.requests)),
    }))
    .filter((v) => v.points.length > 0);
  return { kind: 'append', to: Math.max(after, until) * 1000, versions };
}

/** A cursor from a client, or null when it cannot be resumed from (absent, garbled, outside the window or memory). */
export function resumableCursor(store: FleetMetrics, input: MetricsStreamInput, now: number): number | null {
  if (!input.lastEventId || !/^\d+$/.test(input.lastEventId)) return null;
  const cursor = Number(input.lastEventId);
  const settled = settledSecond(now);
  if (cursor > settled || cursor < settled - input.seconds || cursor < store.memorySince - 1) return null;
  return cursor;
}

/**
 * The next event for a client whose last second is `cursor` (null: it has nothing), with its new cursor. `revised`:
 * seconds that arrived late since the client's last event; those it has drawn (within its window) are sent again.
 */
export async function nextMetricsEvent(
  db: Db,
  store: FleetMetrics,
  input: MetricsStreamInput,
  cursor: number | null,
  now = Date.now(),
  revised: readonly number[] = [],
): Promise<{ id: number; event: MetricsEvent } | null> {
  const settled = settledSecond(now);
  if (cursor === null) return { id: settled, event: await metricsWindow(db, store, input, now) };
  const redraw = revised.filter((second) => second <= cursor && second > settled - input.seconds);
  if (settled <= cursor && redraw.length === 0) return null;
  const event = metricsAfter(store, input.module, cursor, settled, redraw);
  return { id: Math.max(cursor, settled), event };
}

export interface StreamClock {
  now: () => number;
  /** Resolves after `ms` or when `signal` aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Events until `signal` aborts: the first one a window (or, resuming, the seconds missed), then one per second. */
export async function* metricsEvents(db: Db, store: FleetMetrics, input: MetricsStreamInput, clock: StreamClock, signal?: AbortSignal) {
  let cursor = resumableCursor(store, input, clock.now());
  let lateMark = store.lateMark;
  while (!signal?.aborted) {
    const revised = store.lateSecondsAfter(input.module, lateMark);
    lateMark = store.lateMark;
    const next = await nextMetricsEvent(db, store, input, cursor, clock.now(), revised);
    if (next) {
      cursor = next.id;
      yield { id: String(next.id), event: next.event };
    }
    // Wake just after the next second starts, when one more second has settled.
    await clock.sleep(1000 - (clock.now() % 1000) + 20, signal);
  }
}
