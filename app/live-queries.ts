'use client';
import { applyMetricsEvent, applyRowsEvent, type MetricsChart } from '@/server/fleet/live-apply';
import type { RolloutMarker } from '@/components/runtime-charts';
import { useTRPC } from './trpc';
import { useLiveQuery } from './use-live-query';

// The pages' live data: one stream each, and the query each falls back to while the stream cannot get through.

const byModule = (row: { module: string }) => row.module;
const byId = (row: { id: string }) => row.id;

/** Modules with rates, p95/p99 and a settled sparkline (modules table, on-call). */
export function useLiveDashboard() {
  const trpc = useTRPC();
  return useLiveQuery({
    subscription: trpc.live.dashboard.subscriptionOptions(),
    fallback: trpc.live.dashboardNow.queryOptions(),
    fromSnapshot: (snapshot) => snapshot,
    apply: (state, event) => applyRowsEvent(state, event, byModule),
    pollMs: 2_000,
  });
}

/** On-call: every module and where one click would take it. */
export function useLiveTargets() {
  const trpc = useTRPC();
  return useLiveQuery({
    subscription: trpc.live.targets.subscriptionOptions(),
    fallback: trpc.rollouts.operate.targets.queryOptions(),
    fromSnapshot: (rows) => ({ rows, meta: {} }),
    apply: (state, event) => applyRowsEvent(state, event, byModule),
    pollMs: 2_000,
  });
}

export function useLiveApprovalQueue() {
  const trpc = useTRPC();
  return useLiveQuery({
    subscription: trpc.live.approvalQueue.subscriptionOptions(),
    fallback: trpc.rollouts.changes.queue.queryOptions(),
    fromSnapshot: (rows) => ({ rows, meta: {} }),
    apply: (state, event) => applyRowsEvent(state, event, byId),
    pollMs: 3_000,
  });
}

/** One module's runtime: hosts as rows, the rest as the header. */
export function useLiveModuleRuntime(module: string) {
  const trpc = useTRPC();
  return useLiveQuery({
    subscription: trpc.live.moduleRuntime.subscriptionOptions({ module }),
    fallback: trpc.fleet.moduleRuntime.queryOptions({ module }),
    fromSnapshot: ({ hosts, ...meta }) => ({ rows: hosts, meta }),
    apply: (state, event) => applyRowsEvent(state, event, byId),
    pollMs: 3_000,
  });
}

/** One module's charts: the window once, then each settled second. */
export function useLiveModuleMetrics(module: string, seconds: number) {
  const trpc = useTRPC();
  return useLiveQuery({
    subscription: trpc.live.moduleMetrics.subscriptionOptions({ module, seconds }),
    fallback: trpc.live.metricsWindow.queryOptions({ module, seconds }),
    fromSnapshot: ({ metrics, markers }): { chart: MetricsChart | undefined; markers: RolloutMarker[] } => ({ chart: applyMetricsEvent(undefined, metrics, seconds), markers }),
    apply: (state, { data }) => ({
      chart: applyMetricsEvent(state?.chart, data.metrics, seconds),
      markers: data.markers ?? state?.markers ?? [],
    }),
    pollMs: 5_000,
  });
}
