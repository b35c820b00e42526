import 'server-only';
import { setTimeout as sleep } from 'node:timers/promises';
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { liveDashboard, moduleRowKey } from '../../fleet/live-dashboard';
import { rowEvents } from '../../fleet/live-rows';
import { moduleMetricsInput } from '../../fleet/metrics-query';
import { fleetMetrics } from '../../fleet/metrics-store';
import { metricsEvents, metricsWindow, settledSecond, type StreamClock } from '../../fleet/metrics-stream';
import { moduleRuntime } from '../../fleet/runtime-views';
import { rollbackTargets } from '../../rollout/rollback';
import { approvalQueue, moduleTimeline } from '../../rollout/views';
import { createRouter, permittedProcedure } from '../trpc';

// Push (SSE) for the pages that used to poll: each stream sends its data once, then only what changed. The
// `…Now` queries are the same data for the polling fallback when a stream cannot get through.

const ROWS_INTERVAL_MS = 1_000;
const readRuntime = permittedProcedure('runtime.read');
const readChanges = permittedProcedure('changes.read');
const moduleInput = z.object({ module: z.string().min(1) });

const clock: StreamClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
};

async function markersOf(ctx: { db: Parameters<typeof moduleTimeline>[0] }, input: { module: string; seconds: number }) {
  return moduleTimeline(ctx.db, input.module, (settledSecond(Date.now()) - input.seconds) * 1000);
}

export const liveRouter = createRouter({
  /**
   * One module's charts: the window once, then each settled second; rollout markers whenever they change. The
   * event id is the last second sent, so a reconnect (lastEventId) resumes after it.
   */
  moduleMetrics: readRuntime
    .input(moduleMetricsInput.extend({ lastEventId: z.string().nullish() }))
    .subscription(async function* ({ ctx, input, signal }) {
      let markers = '';
      for await (const { id, event } of metricsEvents(ctx.db, fleetMetrics(), input, clock, signal)) {
        const now = await markersOf(ctx, input);
        const text = JSON.stringify(now);
        const changed = event.kind === 'window' || text !== markers;
        markers = text;
        yield tracked(id, { metrics: event, markers: changed ? now : null });
      }
    }),
  metricsWindow: readRuntime
    .input(moduleMetricsInput)
    .query(async ({ ctx, input }) => ({ metrics: await metricsWindow(ctx.db, fleetMetrics(), input), markers: await markersOf(ctx, input) })),

  /** The modules table and on-call: rows of modules with rates, p95/p99 and a settled sparkline. */
  dashboard: readRuntime.subscription(({ ctx, signal }) => rowEvents(() => liveDashboard(ctx.db, fleetMetrics()), moduleRowKey, ROWS_INTERVAL_MS, clock, signal)),
  dashboardNow: readRuntime.query(({ ctx }) => liveDashboard(ctx.db, fleetMetrics())),

  /** One module's runtime: its hosts as rows, the rest (desired state, health, events) as the header. */
  moduleRuntime: readRuntime.input(moduleInput).subscription(({ ctx, input, signal }) =>
    rowEvents(
      async () => {
        const { hosts, ...meta } = await moduleRuntime(ctx.db, input.module);
        return { rows: hosts, meta };
      },
      (host) => host.id,
      ROWS_INTERVAL_MS,
      clock,
      signal,
    ),
  ),

  /** On-call: every module, what runs and where one click would take it. */
  targets: readChanges.subscription(({ ctx, signal }) =>
    rowEvents(async () => ({ rows: await rollbackTargets(ctx.db), meta: {} }), moduleRowKey, ROWS_INTERVAL_MS, clock, signal),
  ),

  /** The approver's queue: requests waiting for a sign-off that the caller did not propose. */
  approvalQueue: readChanges.subscription(({ ctx, signal }) =>
    rowEvents(async () => ({ rows: await approvalQueue(ctx.db, ctx.user.id), meta: {} }), (row) => row.id, ROWS_INTERVAL_MS, clock, signal),
  ),
});
