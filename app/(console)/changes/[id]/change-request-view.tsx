'use client';
import Link from 'next/link';
import { useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useTRPC } from '@/app/trpc';
import { ApprovalsList } from '@/components/approvals-list';
import { BreakerCountdown } from '@/components/breaker-countdown';
import { ChangeStateBadge, formatTime } from '@/components/change-badges';
import { ChangeOutcome } from '@/components/change-outcome';
import { DecisionsTable } from '@/components/decisions-table';
import { PageHead } from '@/components/page-head';
import { PhasesList } from '@/components/phases-list';
import { PlanSettings, StepBar, WaveList } from '@/components/rollout-plan';
import type { DesiredModule } from '@/server/protocol';
import { ApprovalPanel } from './approval-panel';
import { EditRequest } from './edit-request';
import { EvidenceLinks } from './evidence-links';
import { RequestActions, type Permitted } from './request-actions';

/**
 * One change request, live: the server pushes the whole detail over SSE whenever it changes; if the stream fails the
 * page polls instead, so it never goes stale silently.
 */
const KIND_TITLES = { upgrade: 'Upgrade', first: 'First version', settings: 'Settings change', remove: 'Removal' } as const;

function describeDesired(desired: DesiredModule | null): string {
  if (!desired) return 'nothing (not loaded on any host)';
  const versions = desired.versions.map((v) => `${v.version} ${v.weight}% ${v.isolation}${v.config ? ` config ${JSON.stringify(v.config)}` : ''}`).join(' · ');
  const limits = [desired.requestTimeoutMs !== undefined ? `timeout ${desired.requestTimeoutMs} ms` : '', desired.drainDeadlineMs !== undefined ? `drain ${desired.drainDeadlineMs} ms` : ''].filter(Boolean);
  return [versions, ...limits].join(' · ');
}

export function ChangeRequestView({ id, may }: { id: string; may: Permitted }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const live = useSubscription(trpc.rollouts.changes.watch.subscriptionOptions({ id }));
  // A failed or dropped stream keeps its last data (status 'error', or 'connecting' with an error while it retries),
  // so that data may be stale: poll until the stream delivers again, and prefer what the poll read.
  const streamHealthy = live.status === 'pending' || (live.status === 'connecting' && !live.error);
  const polled = useQuery(trpc.rollouts.changes.get.queryOptions({ id }, { enabled: !streamHealthy, refetchInterval: 2_000 }));
  const c = streamHealthy ? (live.data ?? polled.data) : (polled.data ?? live.data);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.rollouts.pathKey() });

  if (!c) {
    const error = streamHealthy ? null : (polled.error ?? live.error);
    return error ? <p role="alert" className="error">{error.message}</p> : <p className="muted">Loading…</p>;
  }
  return (
    <>
      <PageHead
        title={`Change ${c.id}`}
        subtitle={
          <>
            <Link href={`/modules/${c.module}`}>{c.module}</Link> <span className="mono">{c.from} → {c.to}</span> · <ChangeStateBadge state={c.state} />
            {c.step && <span className="small"> step {c.step.index + 1} of {c.step.of} at {c.step.weight}%</span>}
            {c.step && c.wave && <span className="small"> in wave {c.wave.index + 1} of {c.wave.of} ({c.wave.zones.join(', ')})</span>}
          </>
        }
        actions={<span className="small muted" aria-live="polite">{!streamHealthy ? 'polling every 2 s' : live.status === 'pending' ? '● live' : 'connecting…'}</span>}
      />
      <div className="stack">
        {c.outcome && <ChangeOutcome outcome={c.outcome} />}
        {c.breaker.open && c.breaker.until !== null && <BreakerCountdown module={c.module} until={c.breaker.until} reason={c.breaker.reason} />}
        <RequestActions id={c.id} actions={c.actions} may={may} onEdit={() => setEditing(true)} onDone={refresh} />
        {editing && (
          <EditRequest
            id={c.id}
            module={c.module}
            revision={c.revision}
            request={{ toVersion: c.to, plan: c.plan, reason: c.reason, ticket: c.ticket }}
            onDone={() => {
              setEditing(false);
              void refresh();
            }}
          />
        )}
        {c.desired ? (
          <section aria-label="Desired state" className="stack">
            <h2>{KIND_TITLES[c.kind]}</h2>
            <p className="small muted">Applied in one step after a preflight of every version it loads anew; the approvers sign both states.</p>
            <dl className="kv small">
              <dt>Runs now</dt>
              <dd className="mono" data-testid="desired-before">{describeDesired(c.desired.before)}</dd>
              <dt>Runs after</dt>
              <dd className="mono" data-testid="desired-after">{describeDesired(c.desired.after)}</dd>
            </dl>
          </section>
        ) : (
          <section aria-label="Plan" className="stack">
            <h2>Plan</h2>
            <WaveList plan={c.plan} waveIndex={c.wave?.index ?? 0} started={c.step !== null} state={c.state} />
            <StepBar plan={c.plan} stepIndex={c.step?.index ?? null} state={c.state} />
            <PlanSettings plan={c.plan} />
          </section>
        )}
        <dl className="kv small" aria-label="Request">
          <dt>Requested by</dt>
          <dd>
            {c.requestedBy.name} on {formatTime(c.createdAt)}
          </dd>
          <dt>Reason</dt>
          <dd>{c.reason}</dd>
          <dt>Ticket</dt>
          <dd>{c.ticket || '—'}</dd>
          <dt>Revision</dt>
          <dd>{c.revision}</dd>
          <dt>Digest (SM3)</dt>
          <dd className="mono">{c.digest}</dd>
          <dt>Target artifact</dt>
          <dd>
            {c.target ? (
              <>
                {c.target.version} <span className={`badge ${c.target.status}`}>{c.target.status}</span> signed by {c.target.signer} ·{' '}
                <span className="mono">{c.target.sm3.slice(0, 16)}…</span>
              </>
            ) : (
              'not in the registry'
            )}
          </dd>
          {c.warmUntil && (
            <>
              <dt>Previous stable warm until</dt>
              <dd>{formatTime(c.warmUntil)}</dd>
            </>
          )}
        </dl>
        <h2>Approvals</h2>
        {c.approvalHold && (
          <p role="alert" className="error">
            This rollout is {c.approvalHold}
          </p>
        )}
        <ApprovalsList approvals={c.approvals} required={c.requiredApprovals} valid={c.validApprovals} />
        {c.canApprove && may.approve && <ApprovalPanel id={c.id} revision={c.revision} onDone={refresh} />}
        {c.approvalRefusal && may.approve && (
          <p className="muted" role="note">
            {c.approvalRefusal.rule === 'four-eyes' ? 'You proposed this change; another approver must sign it off.' : `You cannot approve this: ${c.approvalRefusal.reason}.`}
          </p>
        )}
        <h2>Analysis decisions</h2>
        <DecisionsTable decisions={c.decisions} />
        <h2>Phases</h2>
        <PhasesList phases={c.phases} />
        <h2>Evidence</h2>
        <EvidenceLinks bundles={c.evidence} />
      </div>
    </>
  );
}
