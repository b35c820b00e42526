import { dialectOfDb, type Db, type DbTransaction } from './client';

// On SQLite every transaction holds the one write lock from its first statement (lock-wait.ts), so a transaction
// that reads a row, checks it and writes it cannot interleave with another. PostgreSQL's READ COMMITTED can: two
// transactions read the same state and both write. Locking the row before reading it restores the order.

const LOCKABLE = { ChangeRequest: 'id', FleetGeneration: 'id' } as const;

/**
 * Locks one row until the transaction ends: `UPDATE` before a read-check-write, `SHARE` to read several rows that
 * only change together with it. A no-op on SQLite; outside a transaction the lock ends with the statement.
 */
export async function lockRow(tx: DbTransaction | Db, table: keyof typeof LOCKABLE, key: string | number, mode: 'UPDATE' | 'SHARE' = 'UPDATE'): Promise<void> {
  if (dialectOfDb(tx) !== 'postgresql') return;
  await tx.$executeRawUnsafe(`SELECT 1 FROM "${table}" WHERE "${LOCKABLE[table]}" = $1 FOR ${mode}`, key);
}

/** Takes a named lock until the transaction ends (PostgreSQL advisory lock), for sequences made from a count. */
export async function lockName(tx: DbTransaction, name: string): Promise<void> {
  if (dialectOfDb(tx) !== 'postgresql') return;
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${name}))`;
}
