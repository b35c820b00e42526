import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeState } from './change-request.types';
import { breakerStatus, DEFAULT_BREAKER, type FinishedRollout } from './circuit-breaker';

const MINUTE = 60_000;
const NOW = 1_000 * MINUTE;

/** Newest first, one a minute apart, the newest a minute ago. */
function history(states: ChangeState[]): FinishedRollout[] {
  return states.map((state, i) => {
    const finishedAt = NOW - (i + 1) * MINUTE;
    return { id: `cr-${i}`, state, finishedAt, promotedAt: state === 'Promoted' ? finishedAt : null };
  });
}

describe('circuit breaker', () => {
  it('three failed or rolled-back rollouts in a row open it for five minutes from the last', () => {
    const status = breakerStatus(history(['RolledBack', 'Failed', 'Aborted', 'Promoted']), null, NOW);
    assert.equal(status.open, true);
    assert.equal(status.consecutiveFailures, 3);
    assert.equal(status.until, NOW - MINUTE + 5 * MINUTE);
    assert.match(status.reason!, /3 rollouts in a row/);
  });

  it('two in a row do not', () => {
    const status = breakerStatus(history(['RolledBack', 'RolledBack', 'Promoted']), null, NOW);
    assert.equal(status.open, false);
    assert.equal(status.consecutiveFailures, 2);
  });

  it('six of the last ten open it even when interleaved with successes', () => {
    const states: ChangeState[] = ['RolledBack', 'Promoted', 'RolledBack', 'RolledBack', 'Promoted', 'Failed', 'Promoted', 'RolledBack', 'Promoted', 'Aborted', 'RolledBack'];
    const status = breakerStatus(history(states), null, NOW);
    assert.equal(status.failuresInLookback, 6, 'only the last ten count');
    assert.equal(status.open, true);
    assert.match(status.reason!, /6 of the last 10/);
  });

  it('five of ten stay closed, and a short history is judged against ten, so one early failure is not 100 %', () => {
    const states: ChangeState[] = ['RolledBack', 'Promoted', 'RolledBack', 'Promoted', 'RolledBack', 'Promoted', 'RolledBack', 'Promoted', 'RolledBack', 'Promoted'];
    assert.equal(breakerStatus(history(states), null, NOW).open, false);
    assert.equal(breakerStatus(history(['RolledBack']), null, NOW).open, false);
    assert.equal(breakerStatus([], null, NOW).open, false);
  });

  it('closes by itself when the open period after the last failure is over', () => {
    const recent = history(['RolledBack', 'RolledBack', 'RolledBack']);
    assert.equal(breakerStatus(recent, null, NOW + 3 * MINUTE).open, true);
    assert.equal(breakerStatus(recent, null, NOW + 4 * MINUTE).open, false);
  });

  it('an admin override closes it until the next failure', () => {
    const recent = history(['RolledBack', 'RolledBack', 'RolledBack']);
    const overridden = breakerStatus(recent, NOW - 30_000, NOW);
    assert.equal(overridden.open, false);
    assert.equal(overridden.overriddenAt, NOW - 30_000);
    const olderOverride = breakerStatus(recent, NOW - 10 * MINUTE, NOW);
    assert.equal(olderOverride.open, true, 'an override older than the last failure does not count');
    const failedAgain: FinishedRollout[] = [{ id: 'cr-new', state: 'RolledBack', finishedAt: NOW + 10_000, promotedAt: null }, ...recent];
    assert.equal(breakerStatus(failedAgain, NOW - 30_000, NOW + 20_000).open, true);
  });

  it('a promoted rollout rolled back later by on-call is a rollout that succeeded, at the time of its promotion', () => {
    // Newest first by when they finished: cr-0 was promoted 5 minutes ago and rolled back by one click just now.
    const recent: FinishedRollout[] = [
      { id: 'cr-0', state: 'RolledBack', finishedAt: NOW - 10_000, promotedAt: NOW - 5 * MINUTE },
      ...history(['RolledBack', 'Failed']),
    ];
    const status = breakerStatus(recent, null, NOW);
    assert.equal(status.open, false);
    assert.equal(status.consecutiveFailures, 2, 'the two rollouts that failed after the promotion still count');
    assert.equal(status.failuresInLookback, 2);
    const failedBeforePromotion = breakerStatus([{ ...recent[0], promotedAt: null }, ...recent.slice(1)], null, NOW);
    assert.equal(failedBeforePromotion.open, true, 'the same rollback during the rollout is a failed rollout');
    assert.match(failedBeforePromotion.reason!, /3 rollouts in a row failed or were rolled back before promotion/);
  });

  it('settings are honoured', () => {
    const strict = { ...DEFAULT_BREAKER, consecutiveFailures: 1, openMs: 10 * MINUTE };
    const status = breakerStatus(history(['Failed', 'Promoted']), null, NOW, strict);
    assert.equal(status.open, true);
    assert.equal(status.until, NOW - MINUTE + 10 * MINUTE);
  });
});
