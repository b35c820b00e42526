import type { Db, DbTransaction } from '../db/client';

// The database as the leader's work sees it: every interactive transaction opens with the fence (lease.ts), so a
// replica that lost the lease while paused cannot commit a step the new leader may also write. Statements outside
// a transaction pass through unfenced: the engine writes its transitions only inside transactions.

export type Fence = (tx: DbTransaction) => Promise<void>;

export function fencedDb(db: Db, fence: Fence): Db {
  const transaction = ((work: unknown, options?: unknown) => {
    if (typeof work !== 'function') return (db.$transaction as (w: unknown, o?: unknown) => unknown)(work, options);
    return db.$transaction(async (tx) => {
      await fence(tx);
      return (work as (tx: DbTransaction) => unknown)(tx);
    }, options as Parameters<Db['$transaction']>[1]);
  }) as Db['$transaction'];
  return new Proxy(db, {
    get(target, property) {
      if (property === '$transaction') return transaction;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
