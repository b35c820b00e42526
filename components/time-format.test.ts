import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAbsolute, formatAge, formatClock } from './time-format';

const local = new Date(2026, 11, 5, 5, 42, 10);

test('absolute time is local, zero-padded, seconds included', () => {
  assert.equal(formatAbsolute(local), '2026-12-05 05:42:10');
  assert.equal(formatAbsolute(local.toISOString()), '2026-12-05 05:42:10');
  assert.equal(formatAbsolute(local.getTime()), '2026-12-05 05:42:10');
  assert.equal(formatAbsolute(new Date(2026, 0, 2, 3, 4, 5)), '2026-01-02 03:04:05');
});

test('a missing or unreadable time reads as a dash, never "Invalid Date"', () => {
  assert.equal(formatAbsolute(null), '—');
  assert.equal(formatAbsolute(undefined), '—');
  assert.equal(formatAbsolute('not a date'), '—');
  assert.equal(formatAge('not a date'), '—');
});

test('clock is the time of day of the absolute format', () => {
  assert.equal(formatClock(local), '05:42:10');
});

test('age in the largest whole unit, past and future', () => {
  const now = local.getTime();
  assert.equal(formatAge(now - 2_000, now), 'just now');
  assert.equal(formatAge(now - 42_000, now), '42 s ago');
  assert.equal(formatAge(now - 3 * 60_000 - 5_000, now), '3 min ago');
  assert.equal(formatAge(now - 5 * 3_600_000, now), '5 h ago');
  assert.equal(formatAge(now - 2 * 86_400_000, now), '2 d ago');
  assert.equal(formatAge(now + 3 * 60_000, now), 'in 3 min');
});
