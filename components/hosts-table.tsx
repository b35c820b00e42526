import type { VersionStatus } from '@/server/protocol';
import type { HostHealth, HostLag } from '@/server/fleet/zone-views.types';
import { PhaseBadge } from './runtime-badges';
import { Time } from './time';

const HEALTH_BADGE: Record<HostHealth, string> = { healthy: 'ok', starting: 'warn', unhealthy: 'bad', failing: 'bad', offline: 'bad', revoked: 'revoked' };

export interface HostRow {
  id: string;
  name: string;
  address: string | null;
  zone: string;
  group: string | null;
  health: HostHealth;
  lag: HostLag;
  lastReportAgeSeconds: number | null;
  embedded: boolean;
  online: boolean;
  revokedAt: Date | string | null;
  lastSeenAt: Date | string | null;
  appliedGeneration: number;
  processStartedAt: string | null;
  versions: VersionStatus[];
}

function HostState({ host }: { host: HostRow }) {
  if (host.revokedAt) return <span className="badge revoked">revoked <Time value={host.revokedAt} /></span>;
  if (!host.lastSeenAt) return <span className="badge warn">never reported</span>;
  return <span className={`badge ${host.online ? 'ok' : 'bad'}`}>{host.online ? 'online' : 'offline'}</span>;
}

export function HostsTable({
  hosts,
  generation,
  onRevoke,
  onMove,
}: {
  hosts: HostRow[];
  generation: number;
  onRevoke?: (host: HostRow) => void;
  onMove?: (host: HostRow) => void;
}) {
  const manage = Boolean(onRevoke ?? onMove);
  return (
    <div className="table-wrap">
      <table aria-label="Hosts">
        <thead>
          <tr>
            <th>Host</th>
            <th>Zone</th>
            <th>State</th>
            <th>Last report</th>
            <th>Generation</th>
            <th>Versions</th>
            {manage && <th />}
          </tr>
        </thead>
        <tbody>
          {hosts.map((h) => (
            <tr key={h.id} data-host={h.id} data-lagging={h.lag.lagging || undefined}>
              <td>
                {h.name} {h.embedded && <span className="badge">embedded</span>}
                {h.address && <div className="muted small mono">{h.address}</div>}
              </td>
              <td>
                <span className="mono">{h.zone}</span>
                {h.group && <div className="muted small">group {h.group}</div>}
              </td>
              <td>
                <HostState host={h} /> {!h.revokedAt && <span className={`badge ${HEALTH_BADGE[h.health]}`}>{h.health}</span>}
                {h.lag.lagging && (
                  <div>
                    <span className="badge warn">lags</span> <span className="small">{h.lag.reason}</span>
                  </div>
                )}
                {h.processStartedAt && <div className="muted small">up since <Time value={h.processStartedAt} /></div>}
              </td>
              <td className="small">
                {h.lastReportAgeSeconds === null ? '—' : `${h.lastReportAgeSeconds} s ago`}
                {h.lastSeenAt && <div className="muted"><Time value={h.lastSeenAt} age /></div>}
              </td>
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
              {manage && (
                <td className="row">
                  {onMove && !h.revokedAt && (
                    <button type="button" className="button secondary small" onClick={() => onMove(h)}>
                      Zone…
                    </button>
                  )}
                  {onRevoke && !h.embedded && !h.revokedAt && (
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
