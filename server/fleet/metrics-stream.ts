import type { Db } from '../db/client';
import { moduleMetrics, pointOf, type VersionMetrics } from './metrics-query';
import type { FleetMetrics } from './metrics-store';

// The module page's charts by push: the whole window once, then only the seconds that settled since. The id of
// each event is the last second it covers, so a client that reconnects with it (SSE lastEventId) gets exactly
// the seconds after it: no gap, no second twice.

/**
 * Seconds this close to now are left out: the current one is still being counted and hosts report about once a
 * second, so the one before may lack a host's batch. Drawing either would end every chart in a false dip.
 */
export const SETTLE_SECONDS = 2;

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
  /** The window now ends at `to`; it starts `seconds` before. Versions hold only the seconds after the last event. */
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

/** The seconds in (after, until], from memory: only a cursor inside what memory holds can be resumed. */
export function metricsAfter(store: FleetMetrics, module: string, after: number, until: number): MetricsAppendEvent {
  const versions = store
    .moduleSeconds(module, after + 1, until)
    .map(({ version, seconds }) => ({ version, points: seconds.map(({ second, totals }) => pointOf(second * 1000, totals, totals.requests)) }));
  return { kind: 'append', to: until * 1000, versions };
}

/** A cursor from a client, or null when it cannot be resumed from (absent, garbled, outside the window or memory). */
export function resumableCursor(store: FleetMetrics, input: MetricsStreamInput, now: number): number | null {
  if (!input.lastEventId || !/^\d+$/.test(input.lastEventId)) return null;
  const cursor = Number(input.lastEventId);
  const settled = settledSecond(now);
  if (cursor > settled || cursor < settled - input.seconds || cursor < store.memorySince - 1) return null;
  return cursor;
}

/** The next event for a client whose last second is `cursor` (null: it has nothing), with its new cursor. */
export async function nextMetricsEvent(
  db: Db,
  store: FleetMetrics,
  input: MetricsStreamInput,
  cursor: number | null,
  now = Date.now(),
): Promise<{ id: number; event: MetricsEvent } | null> {
  const settled = settledSecond(now);
  if (cursor === null) return { id: settled, event: await metricsWindow(db, store, input, now) };
  if (settled <= cursor) return null;
  return { id: settled, event: metricsAfter(store, input.module, cursor, settled) };
}

export interface StreamClock {
  now: () => number;
  /** Resolves after `ms` or when `signal` aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Events until `signal` aborts: the first one a window (or, resuming, the seconds missed), then one per second. */
export async function* metricsEvents(db: Db, store: FleetMetrics, input: MetricsStreamInput, clock: StreamClock, signal?: AbortSignal) {
  let cursor = resumableCursor(store, input, clock.now());
  while (!signal?.aborted) {
    const next = await nextMetricsEvent(db, store, input, cursor, clock.now());
    if (next) {
      cursor = next.id;
      yield { id: String(next.id), event: next.event };
    }
    // Wake just after the next second starts, when one more second has settled.
    await clock.sleep(1000 - (clock.now() % 1000) + 20, signal);
  }
}
