'use client';
import Link from 'next/link';
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { Time } from '@/components/time';

/** Open post-incident reviews (every break-glass opens one), with their deadline; overdue ones stand out. */
export function PostIncidentReviews({ module }: { module?: string }) {
  const trpc = useTRPC();
  const reviews = useQuery(trpc.rollouts.operate.reviews.queryOptions({ open: true, module }, { refetchInterval: 5_000 }));
  const rows = reviews.data ?? [];
  if (rows.length === 0) return null;
  return (
    <section className="stack" aria-labelledby="reviews-heading">
      <h2 id="reviews-heading">Open post-incident reviews</h2>
      <div className="table-wrap">
        <table aria-label="Open post-incident reviews">
          <thead>
            <tr>
              <th>Module</th>
              <th>Break-glass</th>
              <th>By</th>
              <th>Why</th>
              <th>Due</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} data-review={r.id}>
                <td>
                  <Link href={`/modules/${r.module}`}>{r.module}</Link> · <Link href={`/reviews/${r.id}`}>review</Link>
                </td>
                <td className="small">
                  {r.rolledBackFrom} → {r.rolledBackTo}
                  {r.changeRequestId && (
                    <>
                      {' '}(<Link href={`/changes/${r.changeRequestId}`}>{r.changeRequestId}</Link>)
                    </>
                  )}
                </td>
                <td className="small">
                  {r.openedByName}, <Time value={r.openedAt} age />
                </td>
                <td className="small">{r.reason}</td>
                <td className="small">
                  <Time value={r.dueAt} age /> {r.overdue && <span className="badge bad">overdue</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
