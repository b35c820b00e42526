// Runs once when the console's Node server starts (server/bootstrap/console-services.ts): the database migrated,
// the fleet services (the fleet API's TLS listener, the embedded host unless HOTPLANE_EMBEDDED_HOST=0, its demo
// traffic, the metric rollup writer), and the replica joining the others on the same database: it shares its
// metrics, and while it holds the leader lease it runs the rollout engine (which resumes every rollout where the
// database says it stands) and the audit checkpointer. SIGTERM/SIGINT then drain and stop all of it
// (server/bootstrap/shutdown.ts).
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { startConsoleServices } = await import('./server/bootstrap/console-services');
  const { installConsoleShutdown } = await import('./server/bootstrap/shutdown');
  installConsoleShutdown(await startConsoleServices());
}
