import Link from 'next/link';
import { ChangeStateBadge, formatTime } from '@/components/change-badges';
import type { ChangeSummary } from '@/server/rollout/views';
import { TRIGGER_WORDS } from '@/server/rollout/state-words';

export type ChangeListRow = Omit<ChangeSummary, 'createdAt' | 'updatedAt' | 'finishedAt'> & { createdAt: Date | string; approvals: number };

export function ChangesTable({ changes, label = 'Change requests', empty = 'No change requests yet.' }: { changes: ChangeListRow[]; label?: string; empty?: string }) {
  if (changes.length === 0) return <p className="muted">{empty}</p>;
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            <th>Request</th>
            <th>State</th>
            <th>Module</th>
            <th>From → to</th>
            <th>Requested by</th>
            <th>Approvals</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((c) => (
            <tr key={c.id} data-change={c.id}>
              <td>
                <Link href={`/changes/${c.id}`}>{c.id}</Link>
              </td>
              <td>
                <ChangeStateBadge state={c.state} />
                {c.step && <span className="small muted"> step {c.step.index + 1}/{c.step.of} · {c.step.weight}%</span>}
                {c.outcome && c.outcome.trigger !== 'promoted' && (
                  <div className="small" data-testid="change-outcome">
                    {TRIGGER_WORDS[c.outcome.trigger]}
                    {c.outcome.by && ` · by ${c.outcome.by.name}`} · {c.outcome.reason ?? c.outcome.message}
                  </div>
                )}
              </td>
              <td>{c.module}</td>
              <td className="mono">
                {c.from} → {c.to}
              </td>
              <td>{c.requestedBy.name}</td>
              <td>
                {c.approvals}/{c.requiredApprovals}
              </td>
              <td>{formatTime(c.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
