import type { ChangeState, RolloutOutcome } from './change-request.types';

// The words people read for a request's state and for what ended a rollout: one map for the changes list, the
// request page, the overview and the CLI, so a state is never called two things.

export const STATE_WORDS: Record<ChangeState, string> = {
  Draft: 'Draft',
  PendingApproval: 'Waiting for approval',
  Approved: 'Approved',
  Rejected: 'Rejected',
  Preflight: 'Preflight checks',
  Canary: 'Canary',
  Paused: 'Paused',
  Promoted: 'Promoted',
  RolledBack: 'Rolled back',
  Aborted: 'Aborted',
  Failed: 'Failed',
  Cancelled: 'Cancelled',
};

export const TRIGGER_WORDS: Record<RolloutOutcome['trigger'], string> = {
  promoted: 'promoted',
  breach: 'automatic: analysis breach',
  deadline: 'automatic: step deadline missed',
  abort: 'aborted by an operator',
  'one-click': 'one-click rollback',
  'host-break-glass': 'break-glass on a host while the console was down',
  preflight: 'preflight failed',
  'load-failed': 'automatic: canary failed to load',
};
