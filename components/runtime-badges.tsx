import type { VersionPhase } from '@/server/protocol';
import type { HealthState } from '@/server/fleet/health';

const PHASE_TONE: Record<VersionPhase, string> = {
  loading: 'warn',
  initialized: 'warn',
  'self-tested': 'warn',
  serving: 'ok',
  draining: '',
  disposed: '',
  failed: 'bad',
  crashed: 'bad',
  resident: 'warn',
};

const HEALTH_TONE: Record<HealthState, string> = {
  healthy: 'ok',
  starting: 'warn',
  pending: 'warn',
  unknown: '',
  unhealthy: 'bad',
  failing: 'bad',
};

export function PhaseBadge({ phase }: { phase: VersionPhase }) {
  return <span className={`badge ${PHASE_TONE[phase]}`}>{phase}</span>;
}

// The reason is visible text, not only a tooltip, so "why not healthy" needs no hovering.
export function HealthBadge({ state, reason }: { state: HealthState; reason?: string }) {
  return (
    <span>
      <span className={`badge ${HEALTH_TONE[state]}`}>{state}</span>
      {reason && <span className="muted small"> {reason}</span>}
    </span>
  );
}
