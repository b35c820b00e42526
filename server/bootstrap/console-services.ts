import { prepareDb } from '../db/client';
import { startReplica, type Replica } from '../cluster/replica';
import { startFleetServices } from '../fleet/services';
import { fleetMetrics } from '../fleet/metrics-store';

// Everything a console process runs besides its pages, in the order it needs: the database migrated, the fleet
// services (the mutual-TLS fleet listener, the embedded host unless HOTPLANE_EMBEDDED_HOST=0, metric rollups), and
// this process's place among the replicas (metrics shared, the rollout engine and checkpointer while it leads).
// Next's instrumentation.ts calls it; so does a replica run without Next (proof/support/fleet-replica.ts).
export async function startConsoleServices(log: (line: string) => void = (line) => console.error(`hotplane fleet: ${line}`)): Promise<Replica> {
  const db = await prepareDb();
  // The console serves its pages and the audit trail even when the host cannot start; the reason is logged.
  await startFleetServices(db, log).catch((error: Error) => log(`not started: ${error.message}`));
  return startReplica(db, fleetMetrics());
}
