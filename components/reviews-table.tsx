import Link from 'next/link';
import { formatTime } from '@/components/change-badges';

export interface ReviewRow {
  id: string;
  module: string;
  changeRequestId: string | null;
  rolledBackFrom: string;
  rolledBackTo: string;
  reason: string;
  openedByName: string;
  openedAt: Date | string;
  dueAt: Date | string | null;
  acknowledgedAt: Date | string | null;
  acknowledgedByName: string | null;
  overdue: boolean;
}

const rank = (r: ReviewRow) => (r.overdue ? 0 : r.acknowledgedAt ? 2 : 1);

/** Open reviews first (overdue ones at the top), then acknowledged; newest first within each. */
export function ReviewsTable({ reviews, empty }: { reviews: ReviewRow[]; empty: string }) {
  if (reviews.length === 0) return <p className="muted">{empty}</p>;
  const rows = [...reviews].sort((a, b) => rank(a) - rank(b) || new Date(b.openedAt).getTime() - new Date(a.openedAt).getTime());
  return (
    <div className="table-wrap">
      <table aria-label="Post-incident reviews">
        <thead>
          <tr>
            <th>Review</th>
            <th>Rolled back</th>
            <th>By, why</th>
            <th>Due</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} data-review={r.id}>
              <td>
                <Link href={`/reviews/${r.id}`}>{r.module} {formatTime(r.openedAt)}</Link>
              </td>
              <td className="mono">
                {r.rolledBackFrom} → {r.rolledBackTo}
                {r.changeRequestId && (
                  <>
                    {' '}(<Link href={`/changes/${r.changeRequestId}`}>{r.changeRequestId}</Link>)
                  </>
                )}
              </td>
              <td className="small">
                {r.openedByName}: {r.reason}
              </td>
              <td className="small">{formatTime(r.dueAt)}</td>
              <td className="small">
                {r.acknowledgedAt ? (
                  <span className="badge ok">acknowledged by {r.acknowledgedByName}</span>
                ) : r.overdue ? (
                  <span className="badge bad">overdue</span>
                ) : (
                  <span className="badge warn">open</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
