// `npm test`: typecheck, lint, unit + integration tests (node:test), Playwright e2e against a production build,
// the short form of the proof suite, then a smoke run of the benches. `npm test unit|e2e|proof|bench` runs one
// part. Ends with one "N passed, N failed" line.
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
let broken = false;

function run(label, command, args, options = {}) {
  console.log(`\n=== ${label} ===`);
  const result = spawnSync(command, args, { cwd: root, env: { ...env, ...options.env }, stdio: options.capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (options.capture) process.stdout.write(result.stdout ?? '');
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

function unexpectedTitles(suites, trail = []) {
  const titles = [];
  for (const suite of suites) {
    const here = suite.title ? [...trail, suite.title] : trail;
    for (const spec of suite.specs ?? []) {
      if (spec.tests?.some((test) => test.status === 'unexpected')) titles.push([...here, spec.title].join(' › '));
    }
    titles.push(...unexpectedTitles(suite.suites ?? [], here));
  }
  return titles;
}

const bin = (name) => path.join('node_modules', '.bin', name);

// A test touches the database when it opens one itself or through a fixture that does.
const DATABASE_USE = /\bcreateDb\b|\bprepareDatabase\b|console-fixture|rollout-fixture|test-support|test-database|migrate-postgres/;
function touchesDatabase(file) {
  return DATABASE_USE.test(readFileSync(path.join(root, file), 'utf8'));
}

function count(result) {
  const out = result.stdout ?? '';
  totals.passed += Number(/^ℹ pass (\d+)/m.exec(out)?.[1] ?? 0);
  totals.failed += Number(/^ℹ fail (\d+)/m.exec(out)?.[1] ?? 0);
  if (result.status !== 0 && !/^ℹ fail [1-9]/m.test(out)) totals.failed += 1;
  // The spec reporter repeats every failed test under "failing tests:"; its "✖" lines name them.
  const failing = out.split(/^✖ failing tests:$/m)[1] ?? '';
  let where = '';
  for (const line of failing.split('\n')) {
    if (line.startsWith('test at ')) where = line.slice('test at '.length);
    else if (line.startsWith('✖ ')) failures.push(`  ${line} at ${where}`);
  }
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
  if (together.length > 0) count(run(label, process.execPath, [...args, `--test-concurrency=${TEST_CONCURRENCY}`, ...together], { capture: true, env }));
  if (alone.length > 0) count(run(`${label}, files that run alone`, process.execPath, [...args, '--test-concurrency=1', ...alone], { capture: true, env }));
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
    for (const title of unexpectedTitles(JSON.parse(readFileSync(report, 'utf8')).suites ?? [])) failures.push(`  ✖ e2e ${title}`);
  } else if (e2e.status !== 0) {
    totals.failed += 1;
  }
}

if (part === 'all' || part === 'proof') {
  // Goals missed on a noisy runner are figures in the report, not failures; a proof that breaks is one.
  const proof = run('proof suite, short form', process.execPath, ['scripts/proof.mjs', '--short']);
  if (proof.status === 0) totals.passed += 1;
  else totals.failed += 1;
}

if (part === 'all' || part === 'bench') {
  // Every bench at a seconds-long size: a bench that no longer runs is a failure; its figures here mean nothing.
  const smoke = run('benches, smoke run', process.execPath, ['scripts/bench.mjs', '--smoke']);
  if (smoke.status === 0) totals.passed += 1;
  else totals.failed += 1;
}

if (failures.length > 0) console.log(`\nWhat failed:\n${failures.join('\n')}`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed`);
process.exit(broken || totals.failed > 0 ? 1 : 0);
