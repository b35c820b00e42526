import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cellLimitArgs, cellLimitsFromArgs, DEFAULT_CELL_LIMITS, describeCellLimits, resolveCellLimits } from './cell-limits.ts';

test('a flag wins over the environment, which wins over the default', () => {
  assert.deepEqual(resolveCellLimits({}, {}), DEFAULT_CELL_LIMITS);
  const env = { HOTPLANE_CELL_MEMORY_MIB: '512', HOTPLANE_CELL_OPEN_FILES: '256' };
  assert.deepEqual(resolveCellLimits({}, env), { memoryMiB: 512, openFiles: 256 });
  assert.deepEqual(resolveCellLimits({ memoryMiB: '0', openFiles: '4096' }, env), { memoryMiB: 0, openFiles: 4096 });
});

test('a cap is 0 (none) or a whole number at least as large as a cell child needs', () => {
  for (const [flags, env, pattern] of [
    [{ memoryMiB: '64' }, {}, /--cell-memory-mib=64: give 0 \(no cap\) or a whole number from 128 up/],
    [{ openFiles: '10' }, {}, /--cell-open-files=10: .* from 64 up/],
    [{ memoryMiB: '1.5' }, {}, /--cell-memory-mib=1\.5/],
    [{ memoryMiB: '-1' }, {}, /--cell-memory-mib=-1/],
    [{ memoryMiB: ' ' }, {}, /--cell-memory-mib= /],
    [{}, { HOTPLANE_CELL_OPEN_FILES: 'many' }, /HOTPLANE_CELL_OPEN_FILES=many/],
  ] as const) {
    assert.throws(() => resolveCellLimits(flags, env), pattern);
  }
});

test('the limits survive the trip through the cell child’s arguments, and read back in words', () => {
  const limits = { memoryMiB: 256, openFiles: 128 };
  assert.deepEqual(cellLimitsFromArgs(cellLimitArgs(limits)), limits);
  assert.deepEqual(cellLimitsFromArgs([]), { memoryMiB: 0, openFiles: 0 });
  assert.equal(describeCellLimits(limits), 'memory 256 MiB, 128 open files');
  assert.equal(describeCellLimits({ memoryMiB: 0, openFiles: 0 }), 'no memory cap, no open-file cap');
});
