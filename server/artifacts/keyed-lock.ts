import { randomUUID } from 'node:crypto';
import type { Db } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';

// Serialises work per key (an artifact digest, a module version) across every console replica on one database: a
// ClusterClaim row per held key. Taking a key is one INSERT that the primary key lets only one replica win; a
// claim left by a replica that died expires and is then cleared by the next taker. Keys are taken in sorted
// order, so two callers never wait on each other.

const CLAIM_TTL_MS = 120_000;
const WAIT_LIMIT_MS = 60_000;
const RETRY_MS = [5, 10, 25, 50, 100];

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'P2002';
}

async function claim(db: Db, key: string, owner: string) {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    const now = new Date();
    await db.clusterClaim.deleteMany({ where: { key, expiresAt: { lt: now } } });
    try {
      await db.clusterClaim.create({ data: { key, owner, expiresAt: new Date(now.getTime() + CLAIM_TTL_MS) } });
      return;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    if (Date.now() - started > WAIT_LIMIT_MS) {
      throw new DomainError(DomainErrorCode.Unavailable, `another upload has held "${key}" for over ${WAIT_LIMIT_MS / 1000} s; nothing was kept, try again`);
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]));
  }
}

/** Runs `work` holding every key in `keys`, on this replica or any other sharing `db`. */
export async function withKeyedLocks<T>(db: Db, keys: string[], work: () => Promise<T>): Promise<T> {
  const owner = randomUUID();
  const held: string[] = [];
  try {
    for (const key of [...new Set(keys)].sort()) {
      await claim(db, key, owner);
      held.push(key);
    }
    return await work();
  } finally {
    if (held.length > 0) await db.clusterClaim.deleteMany({ where: { key: { in: held }, owner } });
  }
}
