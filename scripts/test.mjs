// `npm test`: typecheck, lint, unit + integration tests (node:test), Playwright e2e against a production build,
// the short form of the proof suite; `npm test bench` is a smoke run of the benches. `npm test unit|e2e|proof|bench`
// runs one part. Ends with one "N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTestFiles } from './test-files.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const part = process.argv[2] ?? 'all';
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };
const totals = { passed: 0, failed: 0 };
// Names of what failed, repeated after the totals: CI keeps only the tail of a long run.
const failures = [];
const flaky = [];
const leftProcesses = [];
let broken = false;

function run(label, command, args, options = {}) {
  console.log(`\n=== ${label} ===`);
  const result = spawnSync(command, args, { cwd: root, env: { ...env, ...options.env }, stdio: 'inherit' });
  if (result.status !== 0) {
    console.log(`--- ${label} failed (exit ${result.status ?? result.signal})`);
    failures.push(`${label}: exit ${result.status ?? result.signal}`);
    broken = true;
  }
  return result;
}

function findTests(dir, found = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'e2e', 'build', 'data', 'tmp'].includes(entry.name) || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) findTests(full, found);
    else if (entry.name.endsWith('.test.ts')) found.push(path.relative(root, full));
  }
  return found.sort();
}

/** Titles of the specs whose outcome is `status` ('unexpected' or 'flaky') in Playwright's JSON report. */
function specTitles(suites, status, trail = []) {
  const titles = [];
  for (const suite of suites) {
    const here = suite.title ? [...trail, suite.title] : trail;
    for (const spec of suite.specs ?? []) {
      if (spec.tests?.some((test) => test.status === status)) titles.push([...here, spec.title].join(' › '));
    }
    titles.push(...specTitles(suite.suites ?? [], status, here));
  }
  return titles;
}

const bin = (name) => path.join('node_modules', '.bin', name);

// A test touches the database when it opens one itself or through a fixture that does.
const DATABASE_USE = /\bcreateDb\b|\bprepareDatabase\b|console-fixture|rollout-fixture|test-support|test-database|migrate-postgres/;
function touchesDatabase(file) {
  return DATABASE_USE.test(readFileSync(path.join(root, file), 'utf8'));
}

// node:test applies the timeout to each test and to the file as a whole: a file, or a test in it, still running after
// 4 minutes fails by name (the slowest file takes about 1). Should node:test itself not end, the file's process group
// is killed at 8 minutes and it fails by its file name: CI always ends with names.
const TEST_TIMEOUT_MS = 240_000;
const FILE_DEADLINE_MS = 480_000;

// A file with a failed test runs once more, alone: tests that judge live rollouts can lose to a CPU spike from a
// neighbour on a 2-core CI machine. Failing twice is a failure; passing the second time is reported as flaky, by name.
async function testFiles(label, files, concurrency, passEnv) {
  console.log(`\n=== ${label} (${files.length} files, ${concurrency} at a time) ===`);
  const options = { root, env: { ...env, ...passEnv }, testTimeoutMs: TEST_TIMEOUT_MS, deadlineMs: FILE_DEADLINE_MS };
  const first = await runTestFiles(files, { ...options, concurrency });
  leftProcesses.push(...first.leftProcesses);
  totals.passed += first.passed;
  if (first.failed === 0) return;
  console.log(`\n=== ${label}: the files that failed, again and alone ===`);
  const again = await runTestFiles(first.failedFiles, { ...options, concurrency: 1 });
  if (again.failed === 0) {
    totals.passed += first.failed;
    flaky.push(...first.names);
    return;
  }
  totals.failed += again.failed;
  failures.push(...again.names);
  broken = true;
}

// Test files mostly wait (on child processes, databases, timers), so several run at once; a file that judges live
// latency says so in its first line and runs alone after the others.
const TEST_CONCURRENCY = 3;
const RUNS_ALONE = /^\/\/ Runs alone \(scripts\/test\.mjs\)/;
function runsAlone(file) {
  return RUNS_ALONE.test(readFileSync(path.join(root, file), 'utf8'));
}

async function testPass(label, files, passEnv = {}) {
  const together = files.filter((file) => !runsAlone(file));
  const alone = files.filter(runsAlone);
  if (together.length > 0) await testFiles(label, together, TEST_CONCURRENCY, passEnv);
  if (alone.length > 0) await testFiles(`${label}, files that run alone`, alone, 1, passEnv);
}

if (part === 'all' || part === 'unit') {
  run('build example modules', process.execPath, ['scripts/build-modules.mjs']);
  run('typecheck', bin('tsc'), ['--noEmit']);
  run('lint', bin('eslint'), ['.', '--max-warnings=0']);
  const files = findTests(root);
  await testPass('unit and integration tests', files);
  // The same database tests again on PostgreSQL (server/testing/test-database.ts gives each a private cluster).
  await testPass('unit and integration tests on PostgreSQL', files.filter(touchesDatabase), { HOTPLANE_TEST_DATABASE: 'postgresql' });
}

if (part === 'all' || part === 'e2e') {
  run('production build', process.execPath, ['node_modules/next/dist/bin/next', 'build']);
  const report = path.join(root, 'test-results', 'e2e-report.json');
  rmSync(report, { force: true });
  const e2e = run('e2e (Playwright, Debian chromium)', bin('playwright'), ['test'], { env: { PLAYWRIGHT_JSON_OUTPUT_NAME: report } });
  if (existsSync(report)) {
    const stats = JSON.parse(readFileSync(report, 'utf8')).stats ?? {};
    totals.passed += (stats.expected ?? 0) + (stats.flaky ?? 0);
    totals.failed += stats.unexpected ?? 0;
    const suites = JSON.parse(readFileSync(report, 'utf8')).suites ?? [];
    for (const title of specTitles(suites, 'unexpected')) failures.push(`  ✖ e2e ${title}`);
    for (const title of specTitles(suites, 'flaky')) flaky.push(`  ✖ e2e ${title}`);
  } else if (e2e.status !== 0) {
    totals.failed += 1;
  }
}

if (part === 'all' || part === 'proof') {
  // Goals missed on a noisy runner are figures in the report, not failures; a proof that breaks is one.
  // The attacks part re-runs the `attack:` tests the unit pass just ran; CI skips it to stay within its 30 minutes.
  const proof = run('proof suite, short form', process.execPath, ['scripts/proof.mjs', '--short', 'faults', 'fleet', 'rollback', 'soak', 'security', 'audit']);
  if (proof.status === 0) totals.passed += 1;
  else totals.failed += 1;
}

// `npm test bench` only: a full `npm test` already takes close to CI's 30 minutes.
if (part === 'bench') {
  // Every bench at a seconds-long size: a bench that no longer runs is a failure; its figures here mean nothing.
  const smoke = run('benches, smoke run', process.execPath, ['scripts/bench.mjs', '--smoke']);
  if (smoke.status === 0) totals.passed += 1;
  else totals.failed += 1;
}

if (leftProcesses.length > 0) console.log(`\nLeft processes running after they ended (killed):\n${leftProcesses.join('\n')}`);
if (flaky.length > 0) console.log(`\nFailed once, passed when run again (flaky):\n${flaky.join('\n')}`);
if (failures.length > 0) console.log(`\nWhat failed:\n${failures.join('\n')}`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed`);
process.exit(broken || totals.failed > 0 ? 1 : 0);
