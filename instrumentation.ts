// Runs once when the console's Node server starts: the fleet services start the embedded host (unless
// HOTPLANE_EMBEDDED_HOST=0), its demo traffic, and the metric rollup writer; the replica joins the others on the
// same database (server/cluster/replica.ts): it shares its metrics, and while it holds the leader lease it runs the
// rollout engine (which resumes every rollout where the database says it stands) and the audit checkpointer.
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { startFleetServices } = await import('./server/fleet/services');
  const { db, prepareDb } = await import('./server/db/client');
  const { startReplica } = await import('./server/cluster/replica');
  const { fleetMetrics } = await import('./server/fleet/metrics-store');
  // On PostgreSQL migrations are asynchronous: applied here, before anything uses the database.
  await prepareDb();
  // The console serves its pages and the audit trail even when the host cannot start; the reason is logged.
  await startFleetServices(db()).catch((error: Error) => console.error(`hotplane fleet: not started: ${error.message}`));
  startReplica(db(), fleetMetrics());
}
