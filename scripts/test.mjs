// `npm test`: typecheck, lint, unit + integration tests (node:test), Playwright e2e against a production build,
// the short form of the proof suite; `npm test bench` is a smoke run of the benches. `npm test unit|e2e|proof|bench`
// runs one part. Ends with one "N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const part = process.argv[2] ?? 'all';
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };
const totals = { passed: 0, failed: 0 };
// Names of what failed, repeated after the totals: CI keeps only the tail of a long run.
const failures = [];
const flaky = [];
let broken = false;

function run(label, command, args, options = {}) {
  console.log(`\n=== ${label} ===`);
  const result = spawnSync(command, args, { cwd: root, env: { ...env, ...options.env }, stdio: options.capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (options.capture) process.stdout.write(result.stdout ?? '');
  if (result.status !== 0) {
    console.log(`--- ${label} failed (exit ${result.status ?? result.signal})`);
    // A test pass judges its own outcome (testFiles retries the files that failed).
    if (!options.judgedByCaller) {
      failures.push(`${label}: exit ${result.status ?? result.signal}`);
      broken = true;
    }
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

function parseTestRun(result) {
  const out = result.stdout ?? '';
  const passed = Number(/^ℹ pass (\d+)/m.exec(out)?.[1] ?? 0);
  let failed = Number(/^ℹ fail (\d+)/m.exec(out)?.[1] ?? 0);
  if (result.status !== 0 && failed === 0) failed = 1;
  // The spec reporter repeats every failed test under "failing tests:", each after a "test at <file>:<pos>" line.
  const names = [];
  const files = new Set();
  let where = '';
  for (const line of (out.split(/^✖ failing tests:$/m)[1] ?? '').split('\n')) {
    if (line.startsWith('test at ')) where = line.slice('test at '.length);
    else if (line.startsWith('✖ ')) {
      names.push(`  ${line} at ${where}`);
      if (where) files.add(where.replace(/:\d+:\d+$/, ''));
    }
  }
  return { passed, failed, names, files: [...files], complete: result.status === 0 || files.size > 0 };
}

// A file with a failed test runs once more, alone: tests that judge live rollouts can lose to a CPU spike from a
// neighbour on a 2-core CI machine. Failing twice is a failure; passing the second time is reported as flaky, by name.
function testFiles(label, args, files, env) {
  const first = parseTestRun(run(label, process.execPath, [...args, ...files], { capture: true, env, judgedByCaller: true }));
  totals.passed += first.passed;
  if (first.failed === 0) return;
  if (!first.complete) {
    totals.failed += first.failed;
    failures.push(`${label}: failed outside any test`, ...first.names);
    broken = true;
    return;
  }
  const again = parseTestRun(run(`${label}: the files that failed, again and alone`, process.execPath, [...args.filter((a) => !a.startsWith('--test-concurrency')), '--test-concurrency=1', ...first.files], { capture: true, env, judgedByCaller: true }));
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

function testPass(label, files, env = {}) {
  const args = ['--conditions=react-server', '--import', 'tsx', '--test', '--test-reporter=spec'];
  const together = files.filter((file) => !runsAlone(file));
  const alone = files.filter(runsAlone);
  // An empty file list would make node:test look for tests on its own, so a pass without files is skipped.
  if (together.length > 0) testFiles(label, [...args, `--test-concurrency=${TEST_CONCURRENCY}`], together, env);
  if (alone.length > 0) testFiles(`${label}, files that run alone`, [...args, '--test-concurrency=1'], alone, env);
}

if (part === 'all' || part === 'unit') {
  run('build example modules', process.execPath, ['scripts/build-modules.mjs']);
  run('typecheck', bin('tsc'), ['--noEmit']);
  run('lint', bin('eslint'), ['.', '--max-warnings=0']);
  const files = findTests(root);
  testPass('unit and integration tests', files);
  // The same database tests again on PostgreSQL (server/testing/test-database.ts gives each a private cluster).
  testPass('unit and integration tests on PostgreSQL', files.filter(touchesDatabase), { HOTPLANE_TEST_DATABASE: 'postgresql' });
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

if (flaky.length > 0) console.log(`\nFailed once, passed when run again (flaky):\n${flaky.join('\n')}`);
if (failures.length > 0) console.log(`\nWhat failed:\n${failures.join('\n')}`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed`);
process.exit(broken || totals.failed > 0 ? 1 : 0);
