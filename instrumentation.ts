// Runs once when the console's Node server starts: the audit checkpointer signs checkpoints every N events
// or every minute for as long as the console runs; the fleet services start the embedded host (unless
// HOTPLANE_EMBEDDED_HOST=0), its demo traffic, and the metric rollup writer; the rollout engine resumes every
// rollout where the database says it stands.
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { startConsoleCheckpointer } = await import('./server/audit/console-trail');
  const { startFleetServices } = await import('./server/fleet/services');
  const { db, prepareDb } = await import('./server/db/client');
  const { startRolloutEngine } = await import('./server/rollout/engine');
  const { fleetMetrics } = await import('./server/fleet/metrics-store');
  // On PostgreSQL migrations are asynchronous: applied here, before anything uses the database.
  await prepareDb();
  await startConsoleCheckpointer(db());
  // The console serves its pages and the audit trail even when the host cannot start; the reason is logged.
  await startFleetServices(db()).catch((error: Error) => console.error(`hotplane fleet: not started: ${error.message}`));
  startRolloutEngine({ db: db(), metrics: fleetMetrics() });
}
