import type { AnalysisCheck, CheckResult } from '@/server/rollout/analysis';
import type { HostVerdict } from '@/server/rollout/host-analysis';
import type { ZoneVerdict } from '@/server/rollout/zone-analysis';
import { Time, formatClock } from './time';

export interface DecisionRow {
  id: number;
  step: number;
  time: Date | string;
  verdict: 'pass' | 'breach' | 'inconclusive';
  metric: string | null;
  checks: AnalysisCheck[];
  window: { from: Date | string; to: Date | string };
  canaryRequests: number;
  stableRequests: number;
  /** Each host judged alone (empty for decisions made before per-host analysis). */
  hosts: HostVerdict[];
  /** The wave it judged (1 without waves) and the hosts' verdicts by zone (empty before zones). */
  wave: number;
  zones: ZoneVerdict[];
}

const VERDICT_TONE = { pass: 'pass', breach: 'bad', inconclusive: 'warn', 'left-out': '' } as const;
const CHECK_TONE: Record<CheckResult, string> = { pass: 'pass', breach: 'bad', inconclusive: 'warn', skipped: '' };

const measured = (value: number | null, unit: string) => (value === null ? '—' : `${Number(value.toFixed(2))} ${unit === 'count' ? '' : unit}`.trim());
const spanSeconds = (from: Date | string, to: Date | string) => Math.max(0, Math.round((new Date(to).getTime() - new Date(from).getTime()) / 1000));

// A row shows the metrics an operator compares (error rate, p95) and any check that decided or held the verdict;
// the rest, and the per-zone and per-host verdicts, open on demand so a page of judgements stays readable.
const COMPARED = new Set(['error-rate', 'p95-latency']);
const standsOut = (c: AnalysisCheck, decidedBy: string | null) => COMPARED.has(c.metric) || c.metric === decidedBy || c.result === 'breach' || c.result === 'inconclusive';

function CheckLine({ check: c }: { check: AnalysisCheck }) {
  return (
    <li title={c.detail}>
      <span className={`badge ${CHECK_TONE[c.result]}`}>{c.result}</span> {c.metric}: {measured(c.value, c.unit)} · {measured(c.baseline, c.unit)} · limit {measured(c.threshold, c.unit)}
    </li>
  );
}

function placesSummary(d: DecisionRow) {
  const passed = d.hosts.filter((h) => h.verdict === 'pass').length;
  return [d.zones.length ? `${d.zones.length} zone${d.zones.length === 1 ? '' : 's'}` : '', d.hosts.length ? `${passed} of ${d.hosts.length} host${d.hosts.length === 1 ? '' : 's'} pass` : '']
    .filter(Boolean)
    .join(', ');
}

/** Every judgement of the canary, newest first: per check the canary's value, the stable's, the limit, and why. */
export function DecisionsTable({ decisions }: { decisions: DecisionRow[] }) {
  if (decisions.length === 0) return <p className="muted">No analysis yet: the canary is judged once a step is confirmed by the hosts.</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Analysis decisions">
        <thead>
          <tr>
            <th>Time</th>
            <th>Step</th>
            <th>Verdict</th>
            <th>Window</th>
            <th>Requests canary / stable</th>
            <th>Checks: canary · stable · threshold</th>
          </tr>
        </thead>
        <tbody>
          {decisions.map((d) => (
            <tr key={d.id} data-verdict={d.verdict}>
              <td><Time value={d.time} /></td>
              <td>
                {d.step}
                {d.zones.length > 0 && <div className="small muted">wave {d.wave}</div>}
              </td>
              <td>
                <span className={`badge ${VERDICT_TONE[d.verdict]}`}>{d.verdict}</span>
                {d.metric && <div className="small muted">{d.metric}</div>}
                {(d.zones.length > 0 || d.hosts.length > 0) && (
                  <details className="small">
                    <summary>{placesSummary(d)}</summary>
                    {d.zones.length > 0 && (
                      <ul className="plain-list" aria-label="Per-zone verdicts">
                        {d.zones.map((z) => (
                          <li key={z.zone} title={`${z.passed} of ${z.judged} judged host(s) passed, ${z.hosts} reporting${z.breached.length ? `; breached: ${z.breached.join(', ')}` : ''}`}>
                            <span className="mono">{z.zone}</span>
                            {z.currentWave ? '' : ' (earlier wave)'}: <span className={`badge ${VERDICT_TONE[z.verdict]}`}>{z.verdict}</span>
                          </li>
                        ))}
                      </ul>
                    )}
                    {d.hosts.length > 0 && (
                      <ul className="plain-list" aria-label="Per-host verdicts">
                        {d.hosts.map((h) => (
                          <li key={h.host} title={h.detail}>
                            {h.host}: <span className={`badge ${VERDICT_TONE[h.verdict]}`}>{h.verdict}</span> ({h.canaryRequests})
                          </li>
                        ))}
                      </ul>
                    )}
                  </details>
                )}
              </td>
              <td className="small">
                <Time value={d.window.from} />–{formatClock(d.window.to)} ({spanSeconds(d.window.from, d.window.to)} s)
              </td>
              <td className="mono">
                {d.canaryRequests} / {d.stableRequests}
              </td>
              <td>
                <ul className="plain-list small">
                  {d.checks.filter((c) => standsOut(c, d.metric)).map((c) => (
                    <CheckLine key={c.metric} check={c} />
                  ))}
                </ul>
                {d.checks.some((c) => !standsOut(c, d.metric)) && (
                  <details className="small">
                    <summary>{d.checks.filter((c) => !standsOut(c, d.metric)).length} more checks</summary>
                    <ul className="plain-list">
                      {d.checks.filter((c) => !standsOut(c, d.metric)).map((c) => (
                        <CheckLine key={c.metric} check={c} />
                      ))}
                    </ul>
                  </details>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
