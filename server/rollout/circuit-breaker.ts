import { randomUUID } from 'node:crypto';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { FINISHED_STATES, type ChangeState } from './change-request.types';

// The update circuit breaker of one module: too many rollouts in a row, or in the last few, that failed or were
// rolled back before promotion block new rollouts of it for a while. A rollout is judged by how it ended: one that
// was promoted succeeded, even if on-call later rolled it back (an operational decision, reviewed on its own).
// An admin may let rollouts through with a reason; the next failure opens it again.

export interface BreakerSettings {
  consecutiveFailures: number;
  lookback: number;
  /** Share of the last `lookback` rollouts that may fail; reaching it opens the breaker. */
  failureShare: number;
  openMs: number;
}

export const DEFAULT_BREAKER: BreakerSettings = { consecutiveFailures: 3, lookback: 10, failureShare: 0.6, openMs: 5 * 60_000 };

export interface FinishedRollout {
  id: string;
  state: ChangeState;
  finishedAt: number;
  /** Set once the rollout reached 100 % and was promoted; it stays set when the change is rolled back later. */
  promotedAt: number | null;
}

export interface BreakerStatus {
  open: boolean;
  /** Epoch ms when it closes by itself, while open. */
  until: number | null;
  reason: string | null;
  consecutiveFailures: number;
  failuresInLookback: number;
  lookback: number;
  /** The override in force (made after the last failure), if any. */
  overriddenAt: number | null;
}

const failed = (r: FinishedRollout) => r.state !== 'Promoted' && r.promotedAt === null;
/** When the rollout itself ended: its promotion, not a later rollback of what it promoted. */
const rolloutEnd = (r: FinishedRollout) => r.promotedAt ?? r.finishedAt;

/**
 * `recent`: the module's finished rollouts. A module with fewer than `lookback` of them is judged as if the
 * missing ones had succeeded, so one early failure never counts as 100 %.
 */
export function breakerStatus(recent: readonly FinishedRollout[], lastOverrideAt: number | null, now: number, settings: BreakerSettings = DEFAULT_BREAKER): BreakerStatus {
  const window = [...recent].sort((a, b) => rolloutEnd(b) - rolloutEnd(a)).slice(0, settings.lookback);
  const firstSuccess = window.findIndex((r) => !failed(r));
  const consecutiveFailures = firstSuccess === -1 ? window.length : firstSuccess;
  const failuresInLookback = window.filter(failed).length;
  const lastFailure = window.find(failed);
  const closed = { open: false, until: null, reason: null, consecutiveFailures, failuresInLookback, lookback: settings.lookback };
  if (!lastFailure) return { ...closed, overriddenAt: null };
  const overriddenAt = lastOverrideAt !== null && lastOverrideAt >= lastFailure.finishedAt ? lastOverrideAt : null;
  const byStreak = consecutiveFailures >= settings.consecutiveFailures;
  const byShare = failuresInLookback >= Math.ceil(settings.failureShare * settings.lookback);
  const until = lastFailure.finishedAt + settings.openMs;
  if (!(byStreak || byShare) || now >= until || overriddenAt !== null) return { ...closed, overriddenAt };
  const reason = byStreak
    ? `${consecutiveFailures} rollouts in a row failed or were rolled back before promotion`
    : `${failuresInLookback} of the last ${settings.lookback} rollouts failed or were rolled back before promotion`;
  return { open: true, until, reason, consecutiveFailures, failuresInLookback, lookback: settings.lookback, overriddenAt: null };
}

export async function moduleBreaker(db: Db | DbTransaction, module: string, now: number, settings: BreakerSettings = DEFAULT_BREAKER): Promise<BreakerStatus> {
  const [rows, override] = await Promise.all([
    db.changeRequest.findMany({
      where: { module, state: { in: [...FINISHED_STATES] }, finishedAt: { not: null } },
      orderBy: { finishedAt: 'desc' },
      take: settings.lookback,
      select: { id: true, state: true, finishedAt: true, promotedAt: true },
    }),
    db.circuitOverride.findFirst({ where: { module }, orderBy: { createdAt: 'desc' } }),
  ]);
  const recent = rows.map((r) => ({ id: r.id, state: r.state as ChangeState, finishedAt: r.finishedAt!.getTime(), promotedAt: r.promotedAt?.getTime() ?? null }));
  return breakerStatus(recent, override?.createdAt.getTime() ?? null, now, settings);
}

export function describeOpenBreaker(module: string, status: BreakerStatus): string {
  const seconds = Math.ceil(((status.until ?? 0) - Date.now()) / 1000);
  return `the circuit breaker of ${module} is open: ${status.reason}; new rollouts are blocked for ${seconds} s more, or until an admin overrides it with a reason`;
}

export async function overrideBreaker(db: Db, actor: AuditActor, module: string, reason: string, settings: BreakerSettings = DEFAULT_BREAKER) {
  return db.$transaction(async (tx) => {
    const status = await moduleBreaker(tx, module, Date.now(), settings);
    if (!status.open) throw new DomainError(DomainErrorCode.Conflict, `the circuit breaker of ${module} is closed; there is nothing to override`);
    const override = await tx.circuitOverride.create({
      data: { id: randomUUID(), module, reason, createdAt: new Date(), createdById: actor.id, createdByName: actor.name },
    });
    await appendAuditEvent(tx, {
      actor,
      action: 'breaker.overridden',
      targetType: 'module',
      targetId: module,
      details: { reason, wasOpenUntil: new Date(status.until!).toISOString(), because: status.reason },
    });
    return { id: override.id, module, overriddenAt: override.createdAt };
  });
}
