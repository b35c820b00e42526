import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHANGE_STATES, FINISHED_STATES, type ChangeState } from './change-request.types';
import { allowedEvents, canTransition, nextState, personActions, stepProgress, TransitionRefused, type StepClock } from './state-machine';

describe('change request state machine', () => {
  it('walks the happy path Draft → … → Promoted', () => {
    const path = ['submit', 'approvals-complete', 'start', 'preflight-passed', 'step-passed', 'step-passed', 'promote'] as const;
    let state: ChangeState = 'Draft';
    const seen: ChangeState[] = [state];
    for (const event of path) seen.push((state = nextState(state, event)));
    assert.deepEqual(seen, ['Draft', 'PendingApproval', 'Approved', 'Preflight', 'Canary', 'Canary', 'Canary', 'Promoted']);
  });

  it('an edit sends an approved or rejected request back to the approvers', () => {
    assert.equal(nextState('Approved', 'edit'), 'PendingApproval');
    assert.equal(nextState('Rejected', 'edit'), 'PendingApproval');
    assert.equal(nextState('PendingApproval', 'edit'), 'PendingApproval');
    assert.equal(nextState('Draft', 'edit'), 'Draft');
  });

  it('a running rollout cannot be edited, and a finished one cannot do anything but a promoted one roll back', () => {
    for (const state of ['Preflight', 'Canary', 'Paused'] as const) assert.equal(canTransition(state, 'edit'), false);
    for (const state of FINISHED_STATES) {
      assert.deepEqual(allowedEvents(state), state === 'Promoted' ? ['rollback'] : [], state);
    }
  });

  it('breaches roll back from Canary and from Paused; a deadline only from Canary', () => {
    assert.equal(nextState('Canary', 'breach'), 'RolledBack');
    assert.equal(nextState('Paused', 'breach'), 'RolledBack');
    assert.equal(nextState('Canary', 'deadline'), 'RolledBack');
    assert.equal(canTransition('Paused', 'deadline'), false);
    assert.equal(nextState('Canary', 'abort'), 'Aborted');
    assert.equal(nextState('Preflight', 'abort'), 'Aborted');
    assert.equal(canTransition('Preflight', 'rollback'), false, 'nothing is served during preflight');
    assert.equal(nextState('Promoted', 'rollback'), 'RolledBack');
  });

  it('a refused transition names the state and what it allows', () => {
    assert.throws(() => nextState('PendingApproval', 'start'), (error: unknown) => {
      assert.ok(error instanceof TransitionRefused);
      assert.match(error.message, /PendingApproval.*cannot start.*approvals-complete/);
      return true;
    });
    assert.throws(() => nextState('RolledBack', 'resume'), /it is finished/);
  });

  it('offers people only their own buttons, never the engine events', () => {
    assert.deepEqual(personActions('Canary').sort(), ['abort', 'pause', 'promote', 'rollback']);
    assert.deepEqual(personActions('Paused').sort(), ['abort', 'promote', 'resume', 'rollback']);
    assert.deepEqual(personActions('Preflight'), ['abort']);
    for (const state of CHANGE_STATES) {
      for (const event of personActions(state)) assert.ok(!['preflight-passed', 'step-passed', 'breach', 'deadline', 'approvals-complete'].includes(event));
    }
  });
});

describe('step progress', () => {
  const clock = (overrides: Partial<StepClock>): StepClock => ({
    phase: 'holding',
    paused: false,
    now: 10_000,
    holdUntil: 5_000,
    deadlineAt: 60_000,
    lastVerdict: 'pass',
    ...overrides,
  });

  it('passes once the hold is over and the latest analysis passed', () => {
    assert.equal(stepProgress(clock({})), 'pass');
    assert.equal(stepProgress(clock({ holdUntil: 20_000 })), 'wait');
  });

  it('an inconclusive or missing verdict holds the step, never passes it', () => {
    assert.equal(stepProgress(clock({ lastVerdict: 'inconclusive' })), 'wait');
    assert.equal(stepProgress(clock({ lastVerdict: null })), 'wait');
  });

  it('holding past the deadline without a pass misses it', () => {
    assert.equal(stepProgress(clock({ lastVerdict: 'inconclusive', now: 60_000 })), 'deadline');
    assert.equal(stepProgress(clock({ phase: 'confirming', holdUntil: null, lastVerdict: null, now: 61_000 })), 'deadline');
  });

  it('a paused step neither passes nor misses its deadline', () => {
    assert.equal(stepProgress(clock({ paused: true })), 'wait');
    assert.equal(stepProgress(clock({ paused: true, now: 100_000 })), 'wait');
  });

  it('a step still waiting for the hosts does not pass', () => {
    assert.equal(stepProgress(clock({ phase: 'confirming', holdUntil: null })), 'wait');
  });
});
