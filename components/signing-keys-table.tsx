import { Fingerprint } from '@/components/fingerprint';
import { formatTime } from '@/components/change-badges';

export interface SigningKeyRow {
  id: string;
  label: string;
  fingerprint: string;
  createdAt: Date | string;
  revokedAt: Date | string | null;
}

export function SigningKeysTable({ keys, pending, onRevoke }: { keys: SigningKeyRow[]; pending: boolean; onRevoke: (key: SigningKeyRow) => void }) {
  if (keys.length === 0) return <p className="muted">No approval key registered yet.</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Approval keys">
        <thead>
          <tr>
            <th>Label</th>
            <th>Fingerprint</th>
            <th>Registered</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id} data-key-label={k.label}>
              <td>{k.label}</td>
              <td>
                <Fingerprint value={k.fingerprint} />
              </td>
              <td>{formatTime(k.createdAt)}</td>
              <td>
                {k.revokedAt ? (
                  <span className="badge revoked">revoked {formatTime(k.revokedAt)}</span>
                ) : (
                  <button type="button" className="button secondary small" disabled={pending} onClick={() => onRevoke(k)} aria-label={`Revoke key ${k.label}`}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
