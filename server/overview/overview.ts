import type { Db } from '../db/client';
import { readDesiredState } from '../fleet/desired-state';
import { listHosts } from '../fleet/runtime-views';
import { ACTIVE_STATES, type RolloutOutcome } from '../rollout/change-request.types';
import { moduleBreaker, type BreakerSettings } from '../rollout/circuit-breaker';
import { listReviews } from '../rollout/reviews';
import { approvalQueue, listChanges } from '../rollout/views';
import { withdrawnRunningVersions } from '../rollout/withdrawn-running';
import type { Overview } from './overview.types';

// The landing page: everything that needs a person now, each item pointing at where it is acted on. Built from
// the same read models the other pages use, so the overview never tells a different story than the page it links.

const DAY_MS = 24 * 60 * 60_000;

export interface OverviewViewer {
  id: string;
  /** May sign off requests (changes.approve): sees the requests themselves, others only how many wait. */
  approves: boolean;
}

async function runningRollouts(db: Db): Promise<Overview['rollouts']> {
  const rows = await listChanges(db, { state: [...ACTIVE_STATES], limit: 200 });
  const latest = await Promise.all(rows.map((r) => db.rolloutDecision.findFirst({ where: { changeRequestId: r.id }, orderBy: { id: 'desc' } })));
  const holds = await db.changeRequest.findMany({ where: { id: { in: rows.map((r) => r.id) } }, select: { id: true, holdUntil: true } });
  return rows.map((r, i) => {
    const d = latest[i];
    return {
      id: r.id,
      module: r.module,
      state: r.state,
      from: r.from,
      to: r.to,
      requestedBy: r.requestedBy.name,
      step: r.step ? { index: r.step.index, of: r.step.of, weight: r.step.weight, phase: r.step.phase } : null,
      holdUntil: holds.find((h) => h.id === r.id)?.holdUntil ?? null,
      latestVerdict: d ? { verdict: d.verdict as 'pass' | 'breach' | 'inconclusive', metric: d.metric, time: d.time } : null,
    };
  });
}

async function approvalsFor(db: Db, viewer: OverviewViewer): Promise<Overview['approvals']> {
  if (!viewer.approves) return { mine: false, waiting: await db.changeRequest.count({ where: { state: 'PendingApproval' } }), items: [] };
  const queue = (await approvalQueue(db, viewer.id)).filter((q) => !q.approvedByViewer);
  const items = queue.map((q) => ({
    id: q.id,
    module: q.module,
    from: q.from,
    to: q.to,
    requestedBy: q.requestedBy.name,
    reason: q.reason,
    approvals: q.approvals,
    requiredApprovals: q.requiredApprovals,
    createdAt: q.createdAt,
  }));
  return { mine: true, waiting: items.length, items };
}

async function openBreakers(db: Db, now: number, settings: BreakerSettings): Promise<Overview['breakers']> {
  const modules = await db.module.findMany({ select: { name: true }, orderBy: { name: 'asc' } });
  const statuses = await Promise.all(modules.map((m) => moduleBreaker(db, m.name, now, settings)));
  return modules.flatMap((m, i) => (statuses[i].open ? [{ module: m.name, until: statuses[i].until!, reason: statuses[i].reason! }] : []));
}

async function recentRollbacks(db: Db, now: number): Promise<Overview['rollbacks']> {
  const phases = await db.rolloutPhase.findMany({
    where: { kind: 'rollback', startedAt: { gte: new Date(now - DAY_MS) }, changeRequest: { state: 'RolledBack' } },
    orderBy: { startedAt: 'desc' },
    include: { changeRequest: true },
  });
  const reviews = await db.postIncidentReview.findMany({
    where: { changeRequestId: { in: phases.map((p) => p.changeRequestId) } },
    select: { id: true, changeRequestId: true },
  });
  return phases.map((p) => {
    const cr = p.changeRequest;
    const outcome = cr.outcome ? (JSON.parse(cr.outcome) as RolloutOutcome) : null;
    return {
      changeRequestId: cr.id,
      module: cr.module,
      from: cr.toVersion || 'nothing',
      to: cr.fromVersion || 'nothing',
      at: p.startedAt,
      trigger: outcome?.trigger ?? null,
      by: outcome?.by?.name ?? null,
      why: outcome?.reason ?? outcome?.message ?? p.detail ?? '',
      reviewId: reviews.find((r) => r.changeRequestId === cr.id)?.id ?? null,
    };
  });
}

async function openReviews(db: Db): Promise<Overview['reviews']> {
  const rows = await listReviews(db, { open: true, limit: 200 });
  // Overdue first: they are the ones escalated already.
  return rows
    .map((r) => ({ id: r.id, module: r.module, from: r.rolledBackFrom, to: r.rolledBackTo, openedBy: r.openedByName, openedAt: r.openedAt, dueAt: r.dueAt, overdue: r.overdue }))
    .sort((a, b) => Number(b.overdue) - Number(a.overdue));
}

async function hostsAndVersions(db: Db, now: number) {
  const { hosts } = await listHosts(db, now);
  const active = hosts.filter((h) => !h.revokedAt);
  const troubled: Overview['hosts'] = active.flatMap((h) =>
    h.lag.lagging ? [{ id: h.id, name: h.name, zone: h.zone, problem: h.online ? ('out-of-sync' as const) : ('silent' as const), reason: h.lag.reason ?? '' }] : [],
  );
  const onHosts: Overview['versions'] = active.flatMap((h) =>
    h.versions.flatMap((v) =>
      v.phase === 'resident' || v.phase === 'failed'
        ? [{ module: v.module, version: v.version, problem: v.phase === 'resident' ? ('resident' as const) : ('load-failed' as const), host: h.name, reason: v.reason ?? (v.phase === 'resident' ? 'still mapped after unload' : 'failed to load') }]
        : [],
    ),
  );
  const state = await db.$transaction((tx) => readDesiredState(tx));
  const withdrawn = await db.$transaction(async (tx) => {
    const found: Overview['versions'] = [];
    for (const desired of state.modules) {
      for (const w of await withdrawnRunningVersions(tx, desired, new Date(now))) found.push({ module: desired.module, version: w.version, problem: 'withdrawn', host: null, reason: w.reason });
    }
    return found;
  });
  return { hosts: troubled, versions: [...withdrawn, ...onHosts] };
}

export async function overview(db: Db, viewer: OverviewViewer, settings: { breaker: BreakerSettings }, now = Date.now()): Promise<Overview> {
  const [rollouts, approvals, breakers, rollbacks, reviews, fleet] = await Promise.all([
    runningRollouts(db),
    approvalsFor(db, viewer),
    openBreakers(db, now, settings.breaker),
    recentRollbacks(db, now),
    openReviews(db),
    hostsAndVersions(db, now),
  ]);
  return { rollouts, approvals, breakers, rollbacks, reviews, hosts: fleet.hosts, versions: fleet.versions };
}
