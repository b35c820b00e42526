'use client';
import Link from 'next/link';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { formatTime } from '@/components/change-badges';
import { PageHead } from '@/components/page-head';
import { QueryState } from '@/components/query-state';
import { ReviewTimeline } from '@/components/review-timeline';

function AcknowledgeForm({ id, refusal, mayAcknowledge }: { id: string; refusal: string | null; mayAcknowledge: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const acknowledge = useMutation(
    trpc.rollouts.operate.acknowledgeReview.mutationOptions({ onSuccess: () => queryClient.invalidateQueries(trpc.rollouts.operate.pathFilter()) }),
  );
  // Said rather than hidden: whoever opens the page learns who can close the review and why it is not them.
  if (!mayAcknowledge) return <p className="muted" data-testid="acknowledge-refusal">Acknowledging a review needs the approver role.</p>;
  if (refusal) return <p className="muted" data-testid="acknowledge-refusal">Not offered: {refusal}.</p>;
  return (
    <form
      className="stack"
      aria-label="Acknowledge the review"
      onSubmit={(event) => {
        event.preventDefault();
        acknowledge.mutate({ id, note: String(new FormData(event.currentTarget).get('note') ?? '') });
      }}
    >
      <label className="stack small">
        What was learned or decided
        <textarea name="note" rows={3} required minLength={3} maxLength={4000} />
      </label>
      {acknowledge.error && <p role="alert" className="error">{acknowledge.error.message}</p>}
      <div>
        <button type="submit" className="button" disabled={acknowledge.isPending}>
          Acknowledge
        </button>
      </div>
    </form>
  );
}

export function ReviewView({ id, mayAcknowledge }: { id: string; mayAcknowledge: boolean }) {
  const trpc = useTRPC();
  const review = useQuery(trpc.rollouts.operate.review.queryOptions({ id }, { refetchInterval: 5_000 }));
  const r = review.data;
  return (
    <>
      <PageHead title={r ? `Review: ${r.module} ${r.from} → ${r.to}` : 'Post-incident review'} subtitle={<Link href="/reviews">All reviews</Link>} />
      <QueryState isPending={review.isPending} error={review.error}>
        {() => (
          <div className="stack">
            <section className="panel" aria-labelledby="what-heading">
              <h2 id="what-heading">What happened</h2>
              <dl className="kv">
                <dt>Module</dt>
                <dd><Link href={`/modules/${r!.module}`}>{r!.module}</Link></dd>
                <dt>Rolled back</dt>
                <dd className="mono">{r!.from} → {r!.to} ({r!.warm ? 'warm: still loaded' : 'cold: loaded afresh'})</dd>
                <dt>Pulled by</dt>
                <dd>{r!.openedBy}, {formatTime(r!.openedAt)}</dd>
                <dt>Why</dt>
                <dd>{r!.reason}</dd>
                <dt>Hosts confirmed</dt>
                <dd>{r!.confirmedAt ? formatTime(r!.confirmedAt) : 'not yet'}</dd>
                <dt>Due</dt>
                <dd>
                  {formatTime(r!.dueAt)} {r!.overdue && <span className="badge bad">overdue</span>}
                </dd>
                <dt>Request</dt>
                <dd>
                  {r!.request ? (
                    <>
                      <Link href={`/changes/${r!.request.id}`}>{r!.request.id}</Link> by {r!.request.requestedByName}: {r!.request.reason}
                    </>
                  ) : (
                    'none'
                  )}
                </dd>
                <dt>Evidence</dt>
                <dd>
                  {r!.evidence.length === 0
                    ? 'no evidence bundle'
                    : r!.evidence.map((e) => (
                        <div key={e.id} className="small">
                          <Link href={`/changes/${r!.request?.id}#evidence`}>bundle {formatTime(e.createdAt)}</Link> <span className="mono">SM3 {e.sm3.slice(0, 16)}…</span>
                        </div>
                      ))}
                </dd>
              </dl>
            </section>
            <section className="panel stack" aria-labelledby="ack-heading">
              <h2 id="ack-heading" style={{ margin: 0 }}>Acknowledgement</h2>
              {r!.acknowledged ? (
                <p data-testid="acknowledged" style={{ margin: 0 }}>
                  Acknowledged by {r!.acknowledged.by}, {formatTime(r!.acknowledged.at)}: {r!.acknowledged.note}
                </p>
              ) : (
                <AcknowledgeForm id={id} refusal={r!.acknowledgeRefusal} mayAcknowledge={mayAcknowledge} />
              )}
            </section>
            <section className="panel stack" aria-labelledby="timeline-heading">
              <h2 id="timeline-heading" style={{ margin: 0 }}>Timeline</h2>
              <ReviewTimeline entries={r!.timeline} />
            </section>
          </div>
        )}
      </QueryState>
    </>
  );
}
