import type { ChangeState } from './change-request.types';

// Every state a change request can be in and every way out of it, as data. Pure: the engine and the
// procedures ask here before they write anything, and the UI asks which buttons to show.

export type ChangeEvent =
  | 'submit'
  | 'edit'
  | 'cancel'
  | 'approvals-complete'
  | 'approvals-lapsed'
  | 'reject'
  | 'start'
  | 'preflight-passed'
  | 'preflight-failed'
  /** A first version, settings change or removal passed its preflight and is written whole (no canary). */
  | 'apply'
  | 'step-passed'
  | 'promote'
  | 'pause'
  | 'resume'
  | 'breach'
  | 'deadline'
  | 'abort'
  | 'rollback';

const TRANSITIONS: Record<ChangeState, Partial<Record<ChangeEvent, ChangeState>>> = {
  Draft: { submit: 'PendingApproval', edit: 'Draft', cancel: 'Cancelled' },
  PendingApproval: { edit: 'PendingApproval', 'approvals-complete': 'Approved', reject: 'Rejected', cancel: 'Cancelled' },
  Approved: { edit: 'PendingApproval', 'approvals-lapsed': 'PendingApproval', start: 'Preflight', cancel: 'Cancelled' },
  Rejected: { edit: 'PendingApproval', cancel: 'Cancelled' },
  // Nothing is served during preflight, so stopping it is an abort: there is nothing to roll back.
  Preflight: { 'preflight-passed': 'Canary', apply: 'Promoted', 'preflight-failed': 'Failed', abort: 'Aborted' },
  Canary: {
    'step-passed': 'Canary',
    promote: 'Promoted',
    pause: 'Paused',
    breach: 'RolledBack',
    deadline: 'RolledBack',
    abort: 'Aborted',
    rollback: 'RolledBack',
  },
  // A paused canary is still analysed: a breach rolls it back; only progress stops.
  Paused: { resume: 'Canary', promote: 'Promoted', breach: 'RolledBack', abort: 'Aborted', rollback: 'RolledBack' },
  Promoted: { rollback: 'RolledBack' },
  RolledBack: {},
  Aborted: {},
  Failed: {},
  Cancelled: {},
};

export class TransitionRefused extends Error {
  constructor(
    readonly state: ChangeState,
    readonly event: ChangeEvent,
  ) {
    const allowed = allowedEvents(state);
    super(`a ${state} change request cannot ${event}${allowed.length ? ` (it can: ${allowed.join(', ')})` : ' (it is finished)'}`);
    this.name = 'TransitionRefused';
  }
}

export function allowedEvents(state: ChangeState): ChangeEvent[] {
  return Object.keys(TRANSITIONS[state]) as ChangeEvent[];
}

export function canTransition(state: ChangeState, event: ChangeEvent): boolean {
  return TRANSITIONS[state][event] !== undefined;
}

export function nextState(state: ChangeState, event: ChangeEvent): ChangeState {
  const next = TRANSITIONS[state][event];
  if (!next) throw new TransitionRefused(state, event);
  return next;
}

/** The buttons a person may press in this state; the engine's own events (preflight, steps, breaches) are not among them. */
const PERSON_EVENTS: readonly ChangeEvent[] = ['submit', 'edit', 'cancel', 'reject', 'start', 'promote', 'pause', 'resume', 'abort', 'rollback'];

export function personActions(state: ChangeState): ChangeEvent[] {
  return allowedEvents(state).filter((event) => PERSON_EVENTS.includes(event));
}

export type StepVerdict = 'pass' | 'breach' | 'inconclusive';

export interface StepClock {
  phase: 'confirming' | 'holding';
  paused: boolean;
  now: number;
  holdUntil: number | null;
  deadlineAt: number | null;
  /** The latest analysis of this step, or null before the first. */
  lastVerdict: StepVerdict | null;
}

/**
 * What a canary step does next. A step passes only once its hold is over and the latest analysis passed:
 * an inconclusive window holds it until the deadline, which rolls back. A paused step never advances
 * nor misses its deadline (resuming starts both afresh).
 */
export function stepProgress(clock: StepClock): 'wait' | 'pass' | 'deadline' {
  if (clock.paused) return 'wait';
  if (clock.phase === 'holding' && clock.holdUntil !== null && clock.now >= clock.holdUntil && clock.lastVerdict === 'pass') return 'pass';
  if (clock.deadlineAt !== null && clock.now >= clock.deadlineAt) return 'deadline';
  return 'wait';
}
