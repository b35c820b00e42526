import type { CheckResult } from '@/server/rollout/analysis';
import type { VerdictMetric, VerdictSummary } from '@/server/rollout/request-view';
import { formatClock } from './time-format';

const TONE: Record<CheckResult | VerdictSummary['verdict'], string> = { pass: 'pass', breach: 'bad', inconclusive: 'warn', skipped: '' };
const WORDS: Record<VerdictSummary['verdict'], string> = { pass: 'pass', breach: 'fail (breach)', inconclusive: 'inconclusive (holding)' };

const value = (v: number | null, unit: string) => (v === null ? '—' : `${Number(v.toFixed(2))} ${unit}`);

function MetricRow({ name, unit, metric }: { name: string; unit: string; metric: VerdictMetric }) {
  return (
    <tr data-metric={name}>
      <th scope="row">{name}</th>
      <td className="mono">{value(metric.canary, unit)}</td>
      <td className="mono">{value(metric.stable, unit)}</td>
      <td className="mono">
        ≤ {value(metric.limit, unit)}
        {metric.limitVsStable !== null && <span className="muted"> and ≤ {value(metric.limitVsStable, unit)}</span>}
      </td>
      <td>
        <span className={`badge ${TONE[metric.result]}`}>{metric.result}</span>
      </td>
    </tr>
  );
}

/** The newest judgement of the canary as numbers: canary against stable, the limits, and what it decided. */
export function VerdictCard({ verdict }: { verdict: VerdictSummary | null }) {
  return (
    <section className="panel stack verdict-card" aria-label="Latest verdict" style={{ gap: 6, padding: 12 }}>
      <div className="row" style={{ gap: 8 }}>
        <strong>Latest verdict</strong>
        {verdict ? (
          <>
            <span className={`badge ${TONE[verdict.verdict]}`} data-testid="latest-verdict">
              {WORDS[verdict.verdict]}
            </span>
            <span className="small muted">
              step {verdict.step} · {formatClock(verdict.time)}
              {verdict.metric && ` · decided by ${verdict.metric}`}
            </span>
          </>
        ) : (
          <span className="small muted" data-testid="latest-verdict">none yet: the canary is judged once the hosts confirm a step</span>
        )}
      </div>
      {verdict && (
        <table aria-label="Canary against stable" className="compact">
          <thead>
            <tr>
              <th />
              <th>Canary</th>
              <th>Stable</th>
              <th>Limit</th>
              <th>Result</th>
            </tr>
          </thead>
          <tbody>
            <MetricRow name="error rate" unit="%" metric={verdict.errorRate} />
            <MetricRow name="p95" unit="ms" metric={verdict.p95} />
            <tr>
              <th scope="row">requests</th>
              <td className="mono">{verdict.canaryRequests}</td>
              <td className="mono">{verdict.stableRequests}</td>
              <td colSpan={2} />
            </tr>
          </tbody>
        </table>
      )}
    </section>
  );
}
