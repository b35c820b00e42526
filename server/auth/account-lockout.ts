import type { Db } from '../db/client';

// MLPS level 3 asks for a limit on failed sign-ins per account, not only per address: the per-address limit trusts
// X-Forwarded-For, which a client can vary. Failures are read from the audit trail, where every one is already
// recorded, so the lock needs no state of its own and an auditor sees exactly what caused it.

export const LOCKOUT_FAILURES = 10;
export const LOCKOUT_WINDOW_MS = 15 * 60_000;

/**
 * Until when sign-in to `email` is refused (epoch ms), or null: locked while the account has had LOCKOUT_FAILURES
 * failed sign-ins within the trailing window and no successful one since. Attempts while locked count as failures.
 */
export async function accountLockedUntil(db: Db, email: string, now = Date.now()): Promise<number | null> {
  const name = email.toLowerCase();
  const windowStart = new Date(now - LOCKOUT_WINDOW_MS).toISOString();
  const lastLogin = await db.auditEvent.findFirst({ where: { action: 'session.login', actorName: name, time: { gte: windowStart } }, orderBy: { seq: 'desc' }, select: { time: true } });
  const since = lastLogin?.time ?? windowStart;
  const failures = await db.auditEvent.findMany({
    where: { action: 'session.login_failed', actorName: name, time: { gt: since } },
    orderBy: { seq: 'desc' },
    take: LOCKOUT_FAILURES,
    select: { time: true },
  });
  if (failures.length < LOCKOUT_FAILURES) return null;
  return Date.parse(failures[LOCKOUT_FAILURES - 1].time) + LOCKOUT_WINDOW_MS;
}
