import type { VersionStatus } from '@/server/protocol';
import { PhaseBadge } from './runtime-badges';

export interface HostRow {
  id: string;
  name: string;
  address: string | null;
  embedded: boolean;
  online: boolean;
  revokedAt: Date | string | null;
  lastSeenAt: Date | string | null;
  appliedGeneration: number;
  processStartedAt: string | null;
  versions: VersionStatus[];
}

function HostState({ host }: { host: HostRow }) {
  if (host.revokedAt) return <span className="badge revoked">revoked {new Date(host.revokedAt).toLocaleString()}</span>;
  if (!host.lastSeenAt) return <span className="badge warn">never reported</span>;
  return <span className={`badge ${host.online ? 'ok' : 'bad'}`}>{host.online ? 'online' : 'offline'}</span>;
}

export function HostsTable({ hosts, generation, onRevoke }: { hosts: HostRow[]; generation: number; onRevoke?: (host: HostRow) => void }) {
  return (
    <div className="table-wrap">
      <table aria-label="Hosts">
        <thead>
          <tr>
            <th>Host</th>
            <th>State</th>
            <th>Last report</th>
            <th>Generation</th>
            <th>Versions</th>
            {onRevoke && <th />}
          </tr>
        </thead>
        <tbody>
          {hosts.map((h) => (
            <tr key={h.id} data-host={h.id}>
              <td>
                {h.name} {h.embedded && <span className="badge">embedded</span>}
                {h.address && <div className="muted small mono">{h.address}</div>}
              </td>
              <td>
                <HostState host={h} />
                {h.processStartedAt && <div className="muted small">up since {new Date(h.processStartedAt).toLocaleString()}</div>}
              </td>
              <td className="small">{h.lastSeenAt ? new Date(h.lastSeenAt).toLocaleString() : '—'}</td>
              <td>
                <span className={h.appliedGeneration >= generation ? '' : 'badge warn'}>
                  {h.appliedGeneration < 0 ? 'none' : h.appliedGeneration} / {generation}
                </span>
              </td>
              <td>
                {h.versions.length === 0 ? (
                  <span className="muted">—</span>
                ) : (
                  <ul className="plain-list small">
                    {h.versions.map((v) => (
                      <li key={`${v.module}-${v.version}-${v.since}`}>
                        <span className="mono">{v.module} {v.version}</span> <PhaseBadge phase={v.phase} /> {v.weight}% · {v.isolation}
                      </li>
                    ))}
                  </ul>
                )}
              </td>
              {onRevoke && (
                <td>
                  {!h.embedded && !h.revokedAt && (
                    <button type="button" className="button secondary small" onClick={() => onRevoke(h)}>
                      Revoke
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
