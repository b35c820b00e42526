import { keepEarlierArtifactBytes } from '../artifacts/shared-bytes';
import { startConsoleCheckpointer } from '../audit/console-trail';
import type { Db } from '../db/client';
import { nudgeDesiredStateWatch } from '../fleet/desired-changes';
import type { FleetMetrics } from '../fleet/metrics-store';
import { flushReportBatches } from '../fleet/report-batch';
import { RolloutEngine } from '../rollout/engine';
import { clusterBus, onHostRevoked } from './cluster-bus';
import { startLeaderRoles } from './leader-roles';
import type { LeaderLease } from './lease';
import { MetricsShare } from './metrics-share';
import { replicaId } from './replica-id';

// What makes this console process one replica among several on the same database (docs/fleet.md#replicas): it
// shares the metrics it receives, hears the others' events on the cluster bus, and runs the rollout engine and the
// audit checkpointer only while it holds the leader lease.

export interface Replica {
  id: string;
  lease: LeaderLease;
  share: MetricsShare;
  stop(): Promise<void>;
}

const holder = globalThis as unknown as { hotplaneReplica?: Replica };

export function startReplica(db: Db, metrics: FleetMetrics): Replica {
  if (holder.hotplaneReplica) return holder.hotplaneReplica;
  const id = replicaId();
  const bus = clusterBus();
  const share = new MetricsShare({ db, metrics, replica: id, bus }).start();
  void keepEarlierArtifactBytes(db).catch((error: Error) => console.error(`hotplane cluster: copying earlier artifacts into the database: ${error.message}`));
  const unsubscribe = [
    bus.subscribe('desired_changed', () => nudgeDesiredStateWatch()),
    onHostRevoked(({ hostId }) => void share.forgetHost(hostId).catch((error: Error) => console.error(`hotplane cluster: forgetting ${hostId}: ${error.message}`))),
  ];
  const lease = startLeaderRoles({
    db,
    replica: id,
    roles: [
      { name: 'rollout engine', start: (fence) => new RolloutEngine({ db, metrics, fence }).start() },
      {
        name: 'audit checkpointer',
        start: async () => {
          const checkpointer = await startConsoleCheckpointer(db);
          return { stop: (how) => checkpointer.stop({ finalCheckpoint: how === 'stopping' }) };
        },
      },
    ],
  });
  holder.hotplaneReplica = {
    id,
    lease,
    share,
    stop: async () => {
      for (const off of unsubscribe) off();
      await lease.stop({ resign: true });
      await share.stop();
      // The last reports acknowledged but not yet written (server/fleet/report-batch.ts).
      await flushReportBatches().catch((error: Error) => console.error(`hotplane cluster: writing the last reports: ${error.message}`));
      await bus.close();
    },
  };
  return holder.hotplaneReplica;
}

export function runningReplica(): Replica | null {
  return holder.hotplaneReplica ?? null;
}
