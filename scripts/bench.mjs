// `npm run bench [name] [--smoke]`: runs bench/*.bench.ts (or those whose file name starts with `name`) with the same
// flags as the server code, then prints every goal the benches reported (bench/support/goals.ts) as one table. A
// full run also records each bench's goals in docs/report/bench-goals.json (replacing only the benches it ran), which
// docs/REPORT.md shows. `--smoke` runs each bench at a size that takes seconds: it catches a broken bench, its
// figures mean nothing and are not recorded.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const only = args.find((arg) => !arg.startsWith('--'));
const benches = readdirSync(path.join(root, 'bench')).filter((f) => f.endsWith('.bench.ts') && (!only || f.startsWith(only)));
const scratch = mkdtempSync(path.join(os.tmpdir(), 'hotplane-bench-'));
const goalsFile = path.join(scratch, 'goals.jsonl');
let failed = 0;
for (const bench of benches) {
  console.log(`\n##### ${bench}${smoke ? ' (smoke)' : ''}`);
  const env = { ...process.env, HOTPLANE_BENCH_GOALS: goalsFile, HOTPLANE_BENCH_NAME: bench.replace('.bench.ts', '') };
  if (smoke) env.HOTPLANE_BENCH_SMOKE = '1';
  const result = spawnSync(process.execPath, ['--conditions=react-server', '--import', 'tsx', `bench/${bench}`], { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) {
    failed++;
    console.log(`##### ${bench} failed (exit ${result.status ?? result.signal})`);
  }
}

let rows = [];
try {
  rows = readFileSync(goalsFile, 'utf8').trim().split('\n').filter(Boolean).map((text) => JSON.parse(text));
} catch {
  // No bench reported a goal.
}
rmSync(scratch, { recursive: true, force: true });
if (rows.length > 0) {
  console.log(`\n##### Goals${smoke ? ' (smoke run: sizes too small for the figures to count)' : ''}`);
  const width = Math.max(...rows.map((row) => row.figure.length));
  for (const row of rows) {
    const baseline = row.baseline ? `  vs ${row.baseline}` : '';
    console.log(`${row.met ? 'MET   ' : 'MISSED'} ${row.figure.padEnd(width)}  ${row.measured.padStart(14)}  goal ${row.goal}${baseline}  [${row.bench}]`);
  }
  const missed = rows.filter((row) => !row.met).length;
  console.log(`${rows.length - missed} of ${rows.length} goals met`);
  if (!smoke) recordGoals(rows);
}

function recordGoals(rows) {
  const file = path.join(root, 'docs', 'report', 'bench-goals.json');
  const recorded = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { benches: {} };
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    // Not a git checkout.
  }
  const measuredAt = new Date().toISOString();
  for (const bench of new Set(rows.map((row) => row.bench))) {
    recorded.benches[bench] = { measuredAt, commit, rows: rows.filter((row) => row.bench === bench).map(({ bench: _bench, ...row }) => row) };
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(recorded, null, 2)}\n`);
  console.log(`goals recorded in ${path.relative(root, file)}`);
}
// A missed goal is a figure for the report, not a broken bench; a bench that crashes is.
process.exit(failed ? 1 : 0);
