import { StandingBadge, formatTime } from '@/components/change-badges';
import type { ApprovalStanding } from '@/server/rollout/approvals';

export interface ApprovalRow {
  id: string;
  approver: { name: string };
  decision: 'approved' | 'rejected';
  revision: number;
  keyFingerprint: string | null;
  reason: string | null;
  createdAt: Date | string;
  expiresAt: Date | string | null;
  standing: ApprovalStanding;
  voidReason: string | null;
}

/** Every sign-off and rejection, with whether it still counts and, if not, why. */
export function ApprovalsList({ approvals, required, valid }: { approvals: ApprovalRow[]; required: number; valid: number }) {
  return (
    <section aria-label="Approvals" className="stack">
      <p style={{ margin: 0 }}>
        <strong>
          {valid} of {required}
        </strong>{' '}
        required approval{required === 1 ? '' : 's'}
      </p>
      {approvals.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Approval signatures">
            <thead>
              <tr>
                <th>Approver</th>
                <th>Decision</th>
                <th>Standing</th>
                <th>Revision</th>
                <th>Key</th>
                <th>Signed</th>
                <th>Expires</th>
              </tr>
            </thead>
            <tbody>
              {approvals.map((a) => (
                <tr key={a.id} data-standing={a.standing}>
                  <td>{a.approver.name}</td>
                  <td>
                    <span className={`badge ${a.decision === 'approved' ? 'ok' : 'bad'}`}>{a.decision}</span>
                    {a.reason && <div className="small">{a.reason}</div>}
                  </td>
                  <td>
                    <StandingBadge standing={a.standing} />
                    {a.voidReason && <div className="small muted">{a.voidReason}</div>}
                  </td>
                  <td>{a.revision}</td>
                  <td className="mono small">{a.keyFingerprint ? `${a.keyFingerprint.slice(0, 16)}…` : '—'}</td>
                  <td>{formatTime(a.createdAt)}</td>
                  <td>{formatTime(a.expiresAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
