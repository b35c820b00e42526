import type { ModuleZone } from '@/server/fleet/zone-views.types';
import { HealthBadge } from './runtime-badges';

// Per zone: the versions and weights it is sent (its own state while a rollout runs in waves), their health on the
// zone's hosts, and which hosts lag.
export function ModuleZonesTable({ zones }: { zones: ModuleZone[] }) {
  return (
    <div className="table-wrap">
      <table aria-label="Zones">
        <thead>
          <tr>
            <th>Zone</th>
            <th>Versions and weights</th>
            <th>Hosts</th>
            <th>Lagging</th>
          </tr>
        </thead>
        <tbody>
          {zones.map((z) => (
            <tr key={z.zone} data-zone={z.zone}>
              <td>
                <span className="mono">{z.zone}</span> {z.ownState && <span className="badge warn">own state (wave)</span>}
              </td>
              <td>
                <ul className="plain-list small">
                  {z.versions.map((v) => (
                    <li key={v.version}>
                      <span className="mono">{v.version}</span> {v.weight}% <HealthBadge {...(z.health.find((h) => h.version === v.version) ?? { state: 'unknown' })} />
                    </li>
                  ))}
                </ul>
              </td>
              <td className="small">
                {z.hosts.map((h) => h.name).join(', ') || '—'}
              </td>
              <td className="small">{z.lagging.length === 0 ? <span className="muted">none</span> : <span className="badge warn">{z.lagging.join(', ')}</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
