// Runs once when the console's Node server starts: the audit checkpointer signs checkpoints every N events
// or every minute for as long as the console runs.
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { startConsoleCheckpointer } = await import('./server/audit/console-trail');
  const { db } = await import('./server/db/client');
  await startConsoleCheckpointer(db());
}
