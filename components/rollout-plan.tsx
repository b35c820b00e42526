import type { ChangeState, RolloutPlan } from '@/server/rollout/change-request.types';

type StepStatus = 'done' | 'current' | 'waiting' | 'rolled-back';

function stepStatus(index: number, current: number, state: ChangeState): StepStatus {
  if (state === 'Promoted') return 'done';
  if (['RolledBack', 'Aborted'].includes(state) && index >= current) return index === current ? 'rolled-back' : 'waiting';
  if (index < current) return 'done';
  return index === current ? 'current' : 'waiting';
}

/** The canary steps as a bar: passed, the one running, and the ones ahead. */
export function StepBar({ plan, stepIndex, state }: { plan: RolloutPlan; stepIndex: number | null; state: ChangeState }) {
  const current = stepIndex ?? -1;
  return (
    <ol className="step-bar" aria-label="Plan progress">
      {plan.steps.map((step, i) => {
        const status = stepStatus(i, current, state);
        return (
          <li key={i} className={`step ${status}`} data-status={status} aria-current={status === 'current' ? 'step' : undefined}>
            <strong>{step.weight}%</strong>
            <span className="small">hold {step.holdSeconds} s</span>
            <span className="small muted">{status}</span>
          </li>
        );
      })}
    </ol>
  );
}

/** The zones in the order the canary reaches them, the wave running marked; nothing without waves (the whole fleet at once). */
export function WaveList({ plan, waveIndex, started, state }: { plan: RolloutPlan; waveIndex: number; started: boolean; state: ChangeState }) {
  if (!plan.waves) return null;
  const finished = ['Promoted', 'RolledBack', 'Aborted', 'Failed'].includes(state);
  const statusOf = (i: number) => (state === 'Promoted' || (started && i < waveIndex) ? 'passed' : started && !finished && i === waveIndex ? 'current' : started && i === waveIndex ? state : 'waiting');
  return (
    <ol className="plain-list small" aria-label="Waves">
      {plan.waves.map((zones, i) => (
        <li key={i} data-wave={i + 1} data-status={statusOf(i)} aria-current={statusOf(i) === 'current' ? 'step' : undefined}>
          <strong>wave {i + 1}</strong> <span className="mono">{zones.join(', ')}</span> <span className={`badge ${statusOf(i) === 'current' ? 'warn' : ''}`}>{statusOf(i)}</span>
        </li>
      ))}
    </ol>
  );
}

/** Everything else the approver signs off besides the steps. */
export function PlanSettings({ plan }: { plan: RolloutPlan }) {
  const a = plan.analysis;
  return (
    <dl className="kv small" aria-label="Plan settings">
      <dt>Isolation</dt>
      <dd>{plan.isolation}</dd>
      <dt>Waves</dt>
      <dd>{plan.waves ? plan.waves.map((zones, i) => `${i + 1}: ${zones.join(', ')}`).join(' → ') : 'one: every zone at once'}</dd>
      <dt>Step deadline</dt>
      <dd>{plan.stepDeadlineSeconds} s</dd>
      <dt>Rollback window</dt>
      <dd>{plan.rollbackWindowSeconds} s</dd>
      <dt>Analysis</dt>
      <dd>
        every {a.intervalSeconds} s over {a.windowSeconds} s, at least {a.minRequests} requests; errors ≤ {a.maxErrorPercent} % and ≤ {a.maxErrorRatio}× stable;
        p95 ≤ {a.maxP95Ms} ms and ≤ {a.maxP95Ratio}× stable (noise {a.p95NoiseMs} ms)
      </dd>
    </dl>
  );
}
