import type { Db } from '../db/client';

// MLPS level 3 asks for a limit on failed sign-ins per account, not only per address: the per-address limit trusts
// X-Forwarded-For, which a client can vary. Failures are read from the audit trail, where every one is already
// recorded, so the lock needs no state of its own and an auditor sees exactly what caused it.

export const LOCKOUT_FAILURES = 10;
export const LOCKOUT_WINDOW_MS = 15 * 60_000;

/**
 * Until when sign-in to `email` is refused (epoch ms), or null: LOCKOUT_WINDOW_MS after the failed sign-in that
 * made LOCKOUT_FAILURES within LOCKOUT_WINDOW_MS with no successful one since. Attempts refused while locked are
 * recorded as another action and do not count, or retrying would keep the account locked for good.
 */
export async function accountLockedUntil(db: Db, email: string, now = Date.now()): Promise<number | null> {
  const name = email.toLowerCase();
  // Nothing is checked while locked, so the failure that locked the account is its latest; the oldest of its
  // LOCKOUT_FAILURES can be at most two windows old.
  const lookback = new Date(now - 2 * LOCKOUT_WINDOW_MS).toISOString();
  const lastLogin = await db.auditEvent.findFirst({ where: { action: 'session.login', actorName: name, time: { gt: lookback } }, orderBy: { seq: 'desc' }, select: { time: true } });
  // An admin's unlock (user.unlocked, targeting the account) starts the count afresh, like a successful sign-in.
  const user = await db.user.findUnique({ where: { email: name }, select: { id: true } });
  const unlock = user
    ? await db.auditEvent.findFirst({ where: { action: 'user.unlocked', targetId: user.id, time: { gt: lookback } }, orderBy: { seq: 'desc' }, select: { time: true } })
    : null;
  const since = [lastLogin?.time, unlock?.time, lookback].filter((t): t is string => !!t).sort().at(-1)!;
  const failures = await db.auditEvent.findMany({
    where: { action: 'session.login_failed', actorName: name, time: { gt: since } },
    orderBy: { seq: 'desc' },
    take: LOCKOUT_FAILURES,
    select: { time: true },
  });
  if (failures.length < LOCKOUT_FAILURES) return null;
  const latest = Date.parse(failures[0].time);
  if (latest - Date.parse(failures[LOCKOUT_FAILURES - 1].time) >= LOCKOUT_WINDOW_MS) return null;
  const until = latest + LOCKOUT_WINDOW_MS;
  return until > now ? until : null;
}
