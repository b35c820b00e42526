import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filterFromParams, queryOfFilter, rangeProblem } from './audit-filter';

test('a day range covers the whole of both local days', () => {
  const { from, to } = queryOfFilter(filterFromParams(new URLSearchParams('from=2026-12-01&to=2026-12-05')));
  assert.equal(from?.getTime(), new Date(2026, 11, 1).getTime());
  assert.equal(to?.getTime(), new Date(2026, 11, 6).getTime() - 1);
});

test('empty and unknown parameters do not filter', () => {
  assert.deepEqual(filterFromParams(new URLSearchParams('action=&actor=%20&other=x')), {});
});

test('a reversed range or a non-day is refused with what to do', () => {
  assert.match(rangeProblem({ from: '2026-12-05', to: '2026-12-01' }) ?? '', /"From" is after "To"/);
  assert.match(rangeProblem({ from: 'yesterday' }) ?? '', /"from" is not a day/);
  assert.equal(rangeProblem({ from: '2026-12-05', to: '2026-12-05' }), null);
});
