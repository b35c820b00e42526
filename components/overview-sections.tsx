import Link from 'next/link';
import type { ReactNode } from 'react';
import { BreakerCountdown } from '@/components/breaker-countdown';
import { ChangeStateBadge, formatTime } from '@/components/change-badges';
import type { Overview } from '@/server/overview/overview.types';
import { TRIGGER_WORDS } from '@/server/rollout/state-words';

// Dates arrive as JSON strings; the schema's types say Date.
type Wire<T> = T extends Date ? string | Date : T extends object ? { [K in keyof T]: Wire<T[K]> } : T;
export type OverviewData = Wire<Overview>;

function Section({ id, title, count, empty, children }: { id: string; title: string; count: number; empty: string; children: ReactNode }) {
  return (
    <section className="panel stack" aria-labelledby={`${id}-heading`} data-section={id}>
      <h2 id={`${id}-heading`} style={{ margin: 0 }}>
        {title} {count > 0 && <span className="badge warn">{count}</span>}
      </h2>
      {count === 0 ? <p className="muted" style={{ margin: 0 }}>{empty}</p> : children}
    </section>
  );
}

const VERDICT_TONE = { pass: 'ok', breach: 'bad', inconclusive: 'warn' } as const;
const VERSION_PROBLEM = { withdrawn: 'withdrawn, still serving', resident: 'resident after unload', 'load-failed': 'load failed' } as const;

function Rollouts({ rows }: { rows: OverviewData['rollouts'] }) {
  return (
    <Section id="rollouts" title="Running rollouts" count={rows.length} empty="No rollout running.">
      <ul className="plain-list stack">
        {rows.map((r) => (
          <li key={r.id} data-change={r.id}>
            <Link href={`/changes/${r.id}`}>{r.id}</Link> <strong>{r.module}</strong> <span className="mono">{r.from} → {r.to}</span> <ChangeStateBadge state={r.state} />
            {r.step && <span className="small"> step {r.step.index + 1} of {r.step.of} · {r.step.weight}%</span>}
            <div className="small muted">
              {r.latestVerdict ? (
                <>
                  latest verdict <span className={`badge ${VERDICT_TONE[r.latestVerdict.verdict]}`}>{r.latestVerdict.verdict}</span>
                  {r.latestVerdict.metric && ` on ${r.latestVerdict.metric}`} at {formatTime(r.latestVerdict.time)}
                </>
              ) : (
                'no verdict yet'
              )}{' '}
              · proposed by {r.requestedBy}
            </div>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function Approvals({ approvals }: { approvals: OverviewData['approvals'] }) {
  if (!approvals.mine) {
    return (
      <Section id="approvals" title="Waiting for approval" count={approvals.waiting} empty="No request waits for approval.">
        <p style={{ margin: 0 }}>
          <Link href="/changes?state=PendingApproval">{approvals.waiting} {approvals.waiting === 1 ? 'request waits' : 'requests wait'} for an approver</Link>
        </p>
      </Section>
    );
  }
  return (
    <Section id="approvals" title="Waiting for your approval" count={approvals.items.length} empty="Nothing waits for your approval.">
      <ul className="plain-list stack">
        {approvals.items.map((a) => (
          <li key={a.id} data-change={a.id}>
            <Link href={`/changes/${a.id}`}>{a.id}</Link> <strong>{a.module}</strong> <span className="mono">{a.from} → {a.to}</span>{' '}
            <span className="small">{a.approvals}/{a.requiredApprovals} approvals</span>
            <div className="small muted">by {a.requestedBy}, {formatTime(a.createdAt)}: {a.reason}</div>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function Breakers({ rows }: { rows: OverviewData['breakers'] }) {
  return (
    <Section id="breakers" title="Open circuit breakers" count={rows.length} empty="No circuit breaker open.">
      {rows.map((b) => (
        <BreakerCountdown key={b.module} module={b.module} until={b.until} reason={b.reason}>
          <Link href={`/modules/${b.module}`}>Open {b.module}</Link>
        </BreakerCountdown>
      ))}
    </Section>
  );
}

function Rollbacks({ rows }: { rows: OverviewData['rollbacks'] }) {
  return (
    <Section id="rollbacks" title="Rollbacks of the last 24 h" count={rows.length} empty="No rollback in the last 24 h.">
      <ul className="plain-list stack">
        {rows.map((r) => (
          <li key={r.changeRequestId} data-change={r.changeRequestId}>
            <Link href={`/changes/${r.changeRequestId}`}>{r.changeRequestId}</Link> <strong>{r.module}</strong> <span className="mono">{r.from} → {r.to}</span>{' '}
            <span className="badge bad">{r.trigger ? TRIGGER_WORDS[r.trigger] : 'rolled back'}</span>
            <div className="small muted">
              {formatTime(r.at)}
              {r.by && ` · by ${r.by}`} · {r.why}
              {r.reviewId && (
                <>
                  {' '}· <Link href={`/reviews/${r.reviewId}`}>review</Link>
                </>
              )}
            </div>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function Reviews({ rows }: { rows: OverviewData['reviews'] }) {
  return (
    <Section id="reviews" title="Open post-incident reviews" count={rows.length} empty="No open review.">
      <ul className="plain-list stack">
        {rows.map((r) => (
          <li key={r.id} data-review={r.id}>
            <Link href={`/reviews/${r.id}`}>
              {r.module} {r.from} → {r.to}
            </Link>{' '}
            {r.overdue && <span className="badge bad">overdue</span>}
            <div className="small muted">opened by {r.openedBy}, {formatTime(r.openedAt)} · due {formatTime(r.dueAt)}</div>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function Hosts({ rows }: { rows: OverviewData['hosts'] }) {
  return (
    <Section id="hosts" title="Hosts out of sync or silent" count={rows.length} empty="Every host reports and runs the desired generation.">
      <ul className="plain-list stack">
        {rows.map((h) => (
          <li key={h.id} data-host={h.name}>
            <Link href="/hosts">{h.name}</Link> <span className="small muted">({h.zone})</span> <span className="badge warn">{h.problem === 'silent' ? 'silent' : 'out of sync'}</span>
            <div className="small muted">{h.reason}</div>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function Versions({ rows }: { rows: OverviewData['versions'] }) {
  return (
    <Section id="versions" title="Flagged versions" count={rows.length} empty="No version flagged.">
      <ul className="plain-list stack">
        {rows.map((v) => (
          <li key={`${v.module}-${v.version}-${v.problem}-${v.host ?? ''}`} data-version={`${v.module} ${v.version}`}>
            <Link href={`/modules/${v.module}`}>
              {v.module} {v.version}
            </Link>{' '}
            <span className="badge bad">{VERSION_PROBLEM[v.problem]}</span>
            {v.host && <span className="small"> on {v.host}</span>}
            <div className="small muted">{v.reason}</div>
          </li>
        ))}
      </ul>
    </Section>
  );
}

/** The landing page's sections, most urgent first; an empty one says so in a line rather than vanishing. */
export function OverviewSections({ overview }: { overview: OverviewData }) {
  return (
    <div className="overview-grid">
      <Rollouts rows={overview.rollouts} />
      <Approvals approvals={overview.approvals} />
      <Breakers rows={overview.breakers} />
      <Rollbacks rows={overview.rollbacks} />
      <Reviews rows={overview.reviews} />
      <Hosts rows={overview.hosts} />
      <Versions rows={overview.versions} />
    </div>
  );
}
