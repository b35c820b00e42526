import { Time } from './time';
export interface PhaseRow {
  id: number;
  kind: string;
  step: number | null;
  weight: number | null;
  startedAt: Date | string;
  confirmedAt: Date | string | null;
  endedAt: Date | string | null;
  result: string | null;
  detail: string;
}

const seconds = (from: Date | string, to: Date | string | null) => (to ? `${((new Date(to).getTime() - new Date(from).getTime()) / 1000).toFixed(1)} s` : 'running');

/** The timing of each phase: preflight, each step (set → confirmed by the hosts → ended), promotion or rollback. */
export function PhasesList({ phases }: { phases: PhaseRow[] }) {
  if (phases.length === 0) return <p className="muted">Not started.</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Phases">
        <thead>
          <tr>
            <th>Phase</th>
            <th>Started</th>
            <th>Hosts confirmed after</th>
            <th>Took</th>
            <th>Result</th>
          </tr>
        </thead>
        <tbody>
          {phases.map((p) => (
            <tr key={p.id}>
              <td>
                {p.kind}
                {p.step !== null && ` ${p.step}`}
                {p.weight !== null && ` · ${p.weight}%`}
              </td>
              <td><Time value={p.startedAt} /></td>
              <td>{p.confirmedAt ? seconds(p.startedAt, p.confirmedAt) : '—'}</td>
              <td>{seconds(p.startedAt, p.endedAt)}</td>
              <td>
                {p.result ?? ''}
                {p.detail && <div className="small muted">{p.detail}</div>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
