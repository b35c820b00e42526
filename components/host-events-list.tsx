import { Time } from './time';
export interface HostEventRow {
  id: number;
  host: string;
  time: Date | string;
  version: string | null;
  kind: string;
  message: string;
}

const TONE: Record<string, string> = { crashed: 'bad', 'host-crashed': 'bad', 'load-failed': 'bad', unhealthy: 'warn', hung: 'warn', 'drain-timeout': 'warn', resident: 'warn', serving: 'ok', healthy: 'ok' };

export function HostEventsList({ events }: { events: HostEventRow[] }) {
  if (events.length === 0) return <p className="muted">No host event yet.</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Host events">
        <thead>
          <tr>
            <th>When</th>
            <th>Host</th>
            <th>Version</th>
            <th>Event</th>
            <th>What happened</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id}>
              <td className="small"><Time value={e.time} /></td>
              <td>{e.host}</td>
              <td className="mono">{e.version ?? '—'}</td>
              <td>
                <span className={`badge ${TONE[e.kind] ?? ''}`}>{e.kind}</span>
              </td>
              <td className="small">{e.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
