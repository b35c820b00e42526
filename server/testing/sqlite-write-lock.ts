import { spawn } from 'node:child_process';

/**
 * Another process (better-sqlite3, as a backup tool or the sqlite3 shell would) takes the database's write lock and
 * holds it until release(), or for `holdMs` when given. Resolves once the lock is held.
 */
export async function holdWriteLock(databaseFile: string, holdMs?: number): Promise<{ release(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', `
    const db = new (require('better-sqlite3'))(${JSON.stringify(databaseFile)});
    db.exec('BEGIN IMMEDIATE');
    console.log('locked');
    const release = () => { db.exec('ROLLBACK'); process.exit(0); };
    ${holdMs === undefined ? '' : `setTimeout(release, ${holdMs});`}
    process.stdin.once('data', release);`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // The holder may end on its own timer just as release() writes to it; that EPIPE means the lock is already gone.
  child.stdin.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before it held the lock`)));
  });
  return {
    async release() {
      if (child.exitCode === null) child.stdin.end('go\n');
      await exited;
    },
  };
}
