import type { ApprovalStanding } from '@/server/rollout/approvals';
import type { ChangeState } from '@/server/rollout/change-request.types';
import { formatAbsolute } from './time';
import { STATE_WORDS } from '@/server/rollout/state-words';

const STATE_TONE: Record<ChangeState, string> = {
  Draft: '',
  PendingApproval: 'warn',
  Approved: 'ok',
  Rejected: 'bad',
  Preflight: 'warn',
  Canary: 'warn',
  Paused: 'warn',
  Promoted: 'ok',
  RolledBack: 'bad',
  Aborted: 'bad',
  Failed: 'bad',
  Cancelled: '',
};

export function ChangeStateBadge({ state }: { state: ChangeState }) {
  return (
    <span className={`badge ${STATE_TONE[state]}`} data-testid="change-state" data-state={state}>
      {STATE_WORDS[state]}
    </span>
  );
}

const STANDING_TONE: Record<ApprovalStanding, string> = { valid: 'ok', expired: 'warn', void: 'bad' };

export function StandingBadge({ standing }: { standing: ApprovalStanding }) {
  return <span className={`badge ${STANDING_TONE[standing]}`}>{standing}</span>;
}

export const formatTime = (value: Date | string | null) => formatAbsolute(value);
