import type { RolloutOutcome } from '@/server/rollout/change-request.types';
import { formatAbsolute, formatClock } from './time';

const TITLE: Record<RolloutOutcome['trigger'], string> = {
  promoted: 'Promoted',
  breach: 'Rolled back automatically',
  deadline: 'Rolled back: a step missed its deadline',
  abort: 'Aborted and rolled back',
  'one-click': 'Rolled back by hand',
  'host-break-glass': 'Rolled back on a host while the console was down (adopted)',
  preflight: 'Preflight failed',
  'load-failed': 'The canary failed to load',
};

const num = (v: number | null | undefined) => (v === null || v === undefined ? '—' : String(Number(v.toFixed(3))));

/** How a request ended, in words on-call can act on: the metric, its value, the limit and the window. */
export function ChangeOutcome({ outcome }: { outcome: RolloutOutcome }) {
  const good = outcome.trigger === 'promoted';
  return (
    <div className={good ? 'notice' : 'redline-box'} role="status" aria-label="Outcome" data-trigger={outcome.trigger}>
      <strong>{TITLE[outcome.trigger]}</strong>: {outcome.message}
      {outcome.metric && (
        <div className="small">
          Metric <strong>{outcome.metric}</strong>: value {num(outcome.value)}, threshold {num(outcome.threshold)}
          {outcome.window && ` over ${outcome.window.seconds} s (${formatAbsolute(outcome.window.from)}–${formatClock(outcome.window.to)})`}
        </div>
      )}
      {outcome.by && (
        <div className="small">
          By {outcome.by.name}
          {outcome.reason && `: ${outcome.reason}`}
        </div>
      )}
    </div>
  );
}
