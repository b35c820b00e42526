'use client';
import { useState, type FormEvent } from 'react';
import type { Isolation } from '@/server/protocol';

export interface VersionCandidate {
  version: string;
  goRuntime: boolean;
}

export interface DesiredChoice {
  version: string;
  weight: number;
  isolation: Isolation;
  config?: string;
}

export interface DesiredVersionsValue {
  versions: DesiredChoice[];
  requestTimeoutMs?: number;
  drainDeadlineMs?: number;
}

export interface ProposedChange extends DesiredVersionsValue {
  reason: string;
}

interface Row extends DesiredChoice {
  selected: boolean;
}

function initialRows(candidates: VersionCandidate[], current: DesiredVersionsValue | null): Row[] {
  return candidates.map((c) => {
    const desired = current?.versions.find((v) => v.version === c.version);
    return desired
      ? { ...desired, selected: true }
      : { version: c.version, weight: 0, isolation: 'process', selected: false };
  });
}

const optionalNumber = (text: string) => (text.trim() === '' ? undefined : Number(text));

// What every host should run afterwards — which accepted versions, with what share of traffic, in which
// isolation — proposed as a change request that a second person approves (nothing changes on submit). The
// server checks everything again; this form only says early what it would refuse.
export function DesiredVersionsForm({
  module,
  candidates,
  current,
  pending,
  error,
  onSubmit,
  onUnload,
}: {
  module: string;
  candidates: VersionCandidate[];
  current: DesiredVersionsValue | null;
  pending: boolean;
  error: string | null;
  onSubmit: (value: ProposedChange) => void;
  onUnload: (reason: string) => void;
}) {
  const [rows, setRows] = useState(() => initialRows(candidates, current));
  const [timeout, setTimeoutText] = useState(current?.requestTimeoutMs?.toString() ?? '');
  const [drain, setDrainText] = useState(current?.drainDeadlineMs?.toString() ?? '');
  const [reason, setReason] = useState('');
  const reasonProblem = reason.trim().length < 3 ? 'Say why this change is wanted.' : null;
  const chosen = rows.filter((r) => r.selected);
  const total = chosen.reduce((sum, r) => sum + (Number.isFinite(r.weight) ? r.weight : 0), 0);
  const problem =
    chosen.length === 0
      ? 'Choose at least one version (or unload the module).'
      : total !== 100
        ? `Weights add up to ${total}; they must add up to 100.`
        : null;

  const update = (version: string, change: Partial<Row>) => setRows((all) => all.map((r) => (r.version === version ? { ...r, ...change } : r)));

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (problem || reasonProblem) return;
    onSubmit({
      reason: reason.trim(),
      versions: chosen.map(({ version, weight, isolation, config }) => ({ version, weight, isolation, ...(config ? { config } : {}) })),
      requestTimeoutMs: optionalNumber(timeout),
      drainDeadlineMs: optionalNumber(drain),
    });
  }

  if (candidates.length === 0) return <p className="muted">No accepted version of {module} to run yet.</p>;
  return (
    <form className="panel stack" onSubmit={submit} aria-label={`Propose the versions of ${module}`}>
      <div className="table-wrap">
        <table aria-label="Versions to run">
          <thead>
            <tr>
              <th>Run</th>
              <th>Weight (%)</th>
              <th>Isolation</th>
              <th>hp_init config</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.version} data-choice={r.version}>
                <td>
                  <label className="checkbox">
                    <input type="checkbox" checked={r.selected} onChange={(e) => update(r.version, { selected: e.target.checked })} />
                    <span className="mono">{r.version}</span>
                  </label>
                </td>
                <td>
                  <input
                    type="number" min={0} max={100} step={1} required={r.selected} disabled={!r.selected} value={r.weight}
                    aria-label={`Weight of ${r.version}`} style={{ width: 80 }}
                    onChange={(e) => update(r.version, { weight: e.target.valueAsNumber })}
                  />
                </td>
                <td>
                  <select aria-label={`Isolation of ${r.version}`} disabled={!r.selected} value={r.isolation}
                    onChange={(e) => update(r.version, { isolation: e.target.value as Isolation })}
                  >
                    <option value="inproc" disabled={candidates.find((c) => c.version === r.version)?.goRuntime}>in the host process</option>
                    <option value="process">own process</option>
                  </select>
                  {candidates.find((c) => c.version === r.version)?.goRuntime && <div className="muted small">Go runtime: own process only</div>}
                </td>
                <td>
                  <textarea rows={1} aria-label={`hp_init config of ${r.version}`} disabled={!r.selected} value={r.config ?? ''}
                    placeholder="empty" onChange={(e) => update(r.version, { config: e.target.value })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="row">
        <label>
          Request timeout (ms)
          <input type="number" min={10} step={1} value={timeout} placeholder="1000" onChange={(e) => setTimeoutText(e.target.value)} />
        </label>
        <label>
          Drain deadline (ms)
          <input type="number" min={0} step={1} value={drain} placeholder="30000" onChange={(e) => setDrainText(e.target.value)} />
        </label>
      </div>
      <label>
        Why (shown to the approvers)
        <textarea rows={2} aria-label="Reason for the change" value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      {(problem ?? reasonProblem) && <p className="muted" role="status">{problem ?? reasonProblem}</p>}
      {error && <p role="alert" className="error">{error}</p>}
      <div className="row">
        <button type="submit" className="button" disabled={pending || problem !== null || reasonProblem !== null}>
          Propose this change
        </button>
        {current && (
          <button type="button" className="button secondary" disabled={pending || reasonProblem !== null}
            onClick={() => window.confirm(`Propose removing ${module} from every host? Once approved and started, its traffic will get 404.`) && onUnload(reason.trim())}
          >
            Propose removal
          </button>
        )}
      </div>
    </form>
  );
}
