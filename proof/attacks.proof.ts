import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { markdownTable, startProof } from './support/proof-result';

// Every attack the trust work names is a node:test called "attack: …" beside the code it attacks (it performs the
// attack as an insider or a compromised part would, and asserts the refusal and that nothing changed). This part runs
// exactly those tests, in their own files' setups, and lists each with its outcome: a security report that cannot
// drift from the tests, because it is the tests.

const proof = startProof('attacks', 'Security: attacks by an insider or a compromised part');
const root = process.cwd();
const SKIPPED_DIRS = new Set(['node_modules', 'e2e', 'build', 'data', 'tmp']);
const ATTACK_NAME = /(['"`])attack: /;

function attackFiles(dir: string, found: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED_DIRS.has(entry.name) || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) attackFiles(full, found);
    else if (entry.name.endsWith('.test.ts') && ATTACK_NAME.test(readFileSync(full, 'utf8'))) found.push(path.relative(root, full));
  }
  return found.sort();
}

interface AttackOutcome {
  name: string;
  file: string;
  passed: boolean;
  durationMs?: number;
  message?: string;
}

const files = attackFiles(root);

function runAttacks(testFiles: string[], env: Record<string, string> = {}): AttackOutcome[] {
  const run = spawnSync(
    process.execPath,
    ['--conditions=react-server', '--import', 'tsx', '--test', '--test-name-pattern=^attack: ', '--test-reporter=./proof/support/attack-reporter.mjs', ...testFiles],
    { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env } },
  );
  if (run.stderr.trim()) console.error(run.stderr.trim());
  return run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as AttackOutcome)
    .map((o) => ({ ...o, file: path.relative(root, o.file ?? '') }));
}

const onSqlite = runAttacks(files);
// Attacks on PostgreSQL's own defences (its triggers) run only there: the files none of whose attacks ran on
// SQLite run again on a private PostgreSQL cluster (server/testing/test-database.ts).
const postgresOnly = files.filter((f) => !onSqlite.some((o) => o.file === f));
const outcomes = [...onSqlite, ...(postgresOnly.length > 0 ? runAttacks(postgresOnly, { HOTPLANE_TEST_DATABASE: 'postgresql' }) : [])];

const refused = outcomes.filter((o) => o.passed).length;
proof.figure({ name: 'attacks refused', value: `${refused} of ${outcomes.length}`, goal: 'every attack refused, nothing changed', met: outcomes.length > 0 && refused === outcomes.length });
proof.figure({ name: 'test files with attacks', value: files.length });
if (outcomes.length === 0) proof.result.failures.push(`no "attack: " test ran (files: ${files.join(', ') || 'none found'})`);
for (const o of outcomes.filter((x) => !x.passed)) proof.result.failures.push(`attack not refused: ${o.name} (${o.file}): ${o.message ?? 'failed'}`);
const filesWithout = files.filter((f) => !outcomes.some((o) => o.file === f));
for (const f of filesWithout) proof.result.failures.push(`${f} names an attack test but none ran (a setup failed?)`);

const area = (file: string) => path.dirname(file).replace(/^server\//, '');
proof.result.markdown = [
  'Each row is a test named `attack: …` in the file shown: it carries out the attack through the real interface (tRPC,',
  'HTTP, the host protocol, a hostile C module, the file system) and asserts both the refusal and that nothing changed.',
  '"refused" means the test passed. The threat model below says which actor each attack belongs to.',
  '',
  markdownTable(
    ['area', 'attack', 'test file', 'outcome'],
    [...outcomes]
      .sort((a, b) => area(a.file).localeCompare(area(b.file)) || a.file.localeCompare(b.file))
      .map((o) => [area(o.file), o.name, `\`${o.file}\``, o.passed ? 'refused' : `**NOT refused**: ${o.message ?? ''}`]),
  ),
].join('\n');
proof.finish();
