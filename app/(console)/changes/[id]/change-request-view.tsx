'use client';
import dynamic from 'next/dynamic';
import Link from 'next/link';
import { useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useTRPC } from '@/app/trpc';
import { ApprovalsList } from '@/components/approvals-list';
import { BreakerCountdown } from '@/components/breaker-countdown';
import { ChangeStateBadge, formatTime } from '@/components/change-badges';
import { ChangeOutcome } from '@/components/change-outcome';
import { StepCountdown } from '@/components/step-countdown';
import { VerdictCard } from '@/components/verdict-card';
import { PageHead } from '@/components/page-head';
import { PhasesList } from '@/components/phases-list';
import { PlanSettings, StepBar, WaveList } from '@/components/rollout-plan';
import type { DesiredModule } from '@/server/protocol';
import { ApprovalPanel } from './approval-panel';
import { DecisionHistory } from './decision-history';
import { EditRequest } from './edit-request';
import { EvidenceLinks } from './evidence-links';
import { RequestActions, type Permitted } from './request-actions';
import { RejectionBanner, stateInWords } from './request-summary';

// recharts is loaded after the page's first paint: the numbers above the chart do not wait for it.
const CanaryVsStableCharts = dynamic(() => import('@/components/canary-vs-stable-chart').then((m) => m.CanaryVsStableCharts), {
  ssr: false,
  loading: () => <div className="charts-placeholder" aria-hidden />,
});

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
  const analysis = c.plan.analysis;
  const series = c.canaryVsStable;
  return (
    <>
      <PageHead
        title={`Change ${c.id}`}
        subtitle={
          <>
            <Link href={`/modules/${c.module}`}>{c.module}</Link> <span className="mono">{c.from} → {c.to}</span> · <ChangeStateBadge state={c.state} />{' '}
            <span data-testid="state-words">{stateInWords(c.state, c)}</span>
          </>
        }
        actions={<span className="small muted" aria-live="polite">{!streamHealthy ? 'polling every 2 s' : live.status === 'pending' ? '● live' : 'connecting…'}</span>}
      />
      <div className="stack">
        <RejectionBanner state={c.state} approvals={c.approvals} />
        {c.outcome && <ChangeOutcome outcome={c.outcome} />}
        {c.breaker.open && c.breaker.until !== null && <BreakerCountdown module={c.module} until={c.breaker.until} reason={c.breaker.reason} />}
        {c.approvalHold && (
          <p role="alert" className="error">
            This rollout is {c.approvalHold}
          </p>
        )}
        <div className="request-top">
          <section className="panel stack" aria-label="Progress" style={{ gap: 8, padding: 12 }}>
            <div className="row" style={{ gap: 8 }}>
              <strong data-testid="step-of">{c.clock.step !== null ? `Step ${c.clock.step} of ${c.clock.of} · ${c.clock.weight} %` : `${c.clock.of} step${c.clock.of === 1 ? '' : 's'}`}</strong>
              {c.step && c.wave && <span className="small muted">wave {c.wave.index + 1} of {c.wave.of} ({c.wave.zones.join(', ')})</span>}
            </div>
            {!c.desired && <StepBar plan={c.plan} stepIndex={c.step?.index ?? null} state={c.state} />}
            <StepCountdown clock={c.clock} serverTime={c.serverTime} />
            <RequestActions
              id={c.id}
              actions={c.actions}
              may={may}
              promotion={{ module: c.module, from: c.from, to: c.to, step: c.clock.step, of: c.clock.of }}
              onEdit={() => setEditing(true)}
              onDone={refresh}
            />
          </section>
          <VerdictCard verdict={c.latestVerdict} />
        </div>
        {!c.desired && (
          <CanaryVsStableCharts
            errorRate={series.map((p) => ({ t: p.t, canary: p.canaryErrorPercent, stable: p.stableErrorPercent, limitVsStable: p.errorLimitVsStable }))}
            p95={series.map((p) => ({ t: p.t, canary: p.canaryP95Ms, stable: p.stableP95Ms, limitVsStable: p.p95LimitVsStable }))}
            limits={{ errorPercent: analysis.maxErrorPercent, p95Ms: analysis.maxP95Ms }}
          />
        )}
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
        {c.canApprove && may.approve && <ApprovalPanel id={c.id} revision={c.revision} onDone={refresh} />}
        {c.desired && (
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
        )}
        <DecisionHistory id={c.id} total={c.decisionCount} />
        <h2>Approvals</h2>
        <ApprovalsList approvals={c.approvals} required={c.requiredApprovals} valid={c.validApprovals} />
        {c.approvalRefusal && may.approve && (
          <p className="muted" role="note">
            {c.approvalRefusal.rule === 'four-eyes' ? 'You proposed this change; another approver must sign it off.' : `You cannot approve this: ${c.approvalRefusal.reason}.`}
          </p>
        )}
        <h2>Phases</h2>
        <PhasesList phases={c.phases} />
        <h2>Request</h2>
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
        {!c.desired && (
          <>
            <WaveList plan={c.plan} waveIndex={c.wave?.index ?? 0} started={c.step !== null} state={c.state} />
            <PlanSettings plan={c.plan} />
          </>
        )}
        <h2>Evidence</h2>
        <EvidenceLinks bundles={c.evidence} />
      </div>
    </>
  );
}
