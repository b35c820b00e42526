import type { VersionStatus } from '@/server/protocol';
import { HealthBadge, PhaseBadge } from './runtime-badges';
import { Time } from './time';

export interface HostVersions {
  id: string;
  name: string;
  online: boolean;
  lastSeenAt: Date | string | null;
  appliedGeneration: number;
  inSync: boolean;
  versions: VersionStatus[];
}

const ms = (value: number | undefined) => (value === undefined ? '—' : `${value.toFixed(value < 10 ? 1 : 0)} ms`);

function LoadBreakdown({ load }: { load: VersionStatus['load'] }) {
  return (
    <span className="small">
      verify {ms(load.verifyMs)} · dlopen {ms(load.dlopenMs)} · init {ms(load.initMs)} · self-test {ms(load.selfTestMs)}
    </span>
  );
}

function healthOf(v: VersionStatus) {
  if (v.healthy) return { state: 'healthy' as const };
  if (v.phase === 'failed' || v.phase === 'crashed' || v.phase === 'resident') return { state: 'failing' as const, reason: v.reason };
  if (v.phase === 'loading' || v.phase === 'initialized' || v.phase === 'self-tested') return { state: 'starting' as const, reason: v.reason };
  return { state: 'unhealthy' as const, reason: v.reason ?? (v.phase === 'serving' ? 'probes fail' : v.phase) };
}

// What each host actually runs for one module, as its latest report says.
export function RuntimeVersionsTable({ hosts, generation }: { hosts: HostVersions[]; generation: number }) {
  if (hosts.length === 0) return <p className="muted">No host is registered. The embedded host starts with the console unless HOTPLANE_EMBEDDED_HOST=0.</p>;
  return (
    <div className="stack">
      {hosts.map((host) => (
        <section key={host.id} aria-label={`Host ${host.name}`} className="stack">
          <div className="row small">
            <strong>{host.name}</strong>
            <span className={`badge ${host.online ? 'ok' : 'bad'}`}>{host.online ? 'online' : 'offline'}</span>
            <span className="muted">
              applied generation {host.appliedGeneration} of {generation}
              {!host.inSync && ' (catching up)'}
              {host.lastSeenAt && <> · last report <Time value={host.lastSeenAt} age /></>}
            </span>
          </div>
          {host.versions.length === 0 ? (
            <p className="muted small">Runs no version of this module.</p>
          ) : (
            <div className="table-wrap">
              <table aria-label={`Versions on ${host.name}`}>
                <thead>
                  <tr>
                    <th>Version</th>
                    <th>Phase</th>
                    <th>Isolation</th>
                    <th>Weight</th>
                    <th>Health</th>
                    <th>Load</th>
                    <th>In flight</th>
                  </tr>
                </thead>
                <tbody>
                  {host.versions.map((v) => (
                    <tr key={`${v.version}-${v.isolation}-${v.since}`} data-runtime-version={v.version}>
                      <td className="mono">
                        {v.version}
                        {v.goRuntime && <span className="badge"> Go</span>}
                      </td>
                      <td>
                        <PhaseBadge phase={v.phase} />
                        <div className="muted small">since <Time value={v.since} /></div>
                      </td>
                      <td>
                        {v.isolation}
                        {v.pid !== undefined && <div className="muted small">pid {v.pid}</div>}
                      </td>
                      <td>{v.weight}%</td>
                      <td>
                        <HealthBadge {...healthOf(v)} />
                        {v.selfTestReport && (v.phase === 'failed' || !v.healthy) && (
                          <details>
                            <summary className="small">Self-test report</summary>
                            <pre className="panel mono small">{v.selfTestReport}</pre>
                          </details>
                        )}
                      </td>
                      <td>
                        <LoadBreakdown load={v.load} />
                      </td>
                      <td>{v.inFlight}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      ))}
    </div>
  );
}
