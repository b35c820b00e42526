import { formatTime } from '@/components/change-badges';
import type { TimelineEntry } from '@/server/rollout/review-detail';

/** A review's timeline, oldest first, as the audit trail has it (plus the hosts' confirmation). */
export function ReviewTimeline({ entries }: { entries: TimelineEntry[] }) {
  if (entries.length === 0) return <p className="muted">Nothing in the audit trail about it.</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Timeline">
        <thead>
          <tr>
            <th>Time</th>
            <th>Event</th>
            <th>Who</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e, i) => (
            <tr key={e.seq ?? `x${i}`} data-action={e.action}>
              <td className="small">{formatTime(e.time)}</td>
              <td className="mono">{e.action}</td>
              <td className="small">{e.actor}</td>
              <td className="small">{e.summary}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
