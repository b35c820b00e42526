import 'server-only';
import { z } from 'zod';
import { config } from '../../config';
import { switchDemoTraffic } from '../../fleet/demo-traffic';
import { registerHost, registerHostInput, revokeHost } from '../../fleet/hosts';
import { moduleMetrics, moduleMetricsInput } from '../../fleet/metrics-query';
import { fleetMetrics } from '../../fleet/metrics-store';
import { fleetDashboard, listHosts, moduleRuntime } from '../../fleet/runtime-views';
import { setHostZone, setHostZoneInput } from '../../fleet/zones';
import { runningFleetServices } from '../../fleet/services';
import { sandboxStatus } from '../../host/sandbox';
import { createRouter, permittedProcedure } from '../trpc';

const readRuntime = permittedProcedure('runtime.read');
const demoTraffic = permittedProcedure('demo-traffic.switch');
const manageFleet = permittedProcedure('fleet.manage');
const moduleInput = z.object({ module: z.string().min(1) });

export const fleetRouter = createRouter({
  hosts: readRuntime.query(async ({ ctx }) => ({
    ...(await listHosts(ctx.db)),
    embeddedHost: (await runningFleetServices())?.supervisor?.status() ?? null,
    sandbox: sandboxStatus(),
  })),
  moduleRuntime: readRuntime.input(moduleInput).query(({ ctx, input }) => moduleRuntime(ctx.db, input.module)),
  metrics: readRuntime.input(moduleMetricsInput).query(({ ctx, input }) => moduleMetrics(ctx.db, fleetMetrics(), input)),
  dashboard: readRuntime.query(({ ctx }) => fleetDashboard(ctx.db, fleetMetrics())),
  demoTraffic: readRuntime.query(async () => (await runningFleetServices())?.demoTraffic?.status() ?? null),

  // What runs changes only through change requests (rollouts.changes.proposeDesired and propose); there is no
  // procedure here that writes desired state.
  setDemoTraffic: demoTraffic
    .input(z.object({ enabled: z.boolean() }))
    .mutation(async ({ ctx, input }) => switchDemoTraffic(ctx.db, ctx.actor, (await runningFleetServices())?.demoTraffic ?? null, input.enabled)),

  // Creates the host and its one-time join token (only its hash is kept; it expires, HOTPLANE_JOIN_TOKEN_MINUTES).
  registerHost: manageFleet.input(registerHostInput).mutation(({ ctx, input }) => registerHost(ctx.db, ctx.actor, input, config().fleet.joinTokenMinutes)),
  revokeHost: manageFleet.input(z.object({ hostId: z.string().min(1) })).mutation(({ ctx, input }) => revokeHost(ctx.db, ctx.actor, input.hostId)),
  setHostZone: manageFleet.input(setHostZoneInput).mutation(({ ctx, input }) => setHostZone(ctx.db, ctx.actor, input)),
});
