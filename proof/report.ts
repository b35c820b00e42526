import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isShortRun, markdownTable, PROOF_RESULTS_DIR, type ProofFigure, type ProofResult } from './support/proof-result';

// docs/REPORT.md from the results the proof scripts wrote (tmp/proof/*.json): environment, every figure beside its
// goal, a plain list of what misses, then each proof's own section and plots. `npm run proof` regenerates it.

const SECTION_ORDER = ['faults', 'fleet', 'rollback', 'soak', 'security', 'attacks', 'audit'];
// Written by hand (who can do what alone, and which attack test shows it); the report carries it beside the outcomes.
const THREAT_MODEL = path.resolve('docs', 'threat-model.md');
// Written by full `npm run bench` runs (scripts/bench.mjs): each bench's goals, when and at which commit measured.
const BENCH_GOALS = path.resolve('docs', 'report', 'bench-goals.json');

interface BenchGoals {
  benches: Record<string, { measuredAt: string; commit: string; rows: { figure: string; measured: string; goal: string; met: boolean; baseline?: string }[] }>;
}

function recordedBenches(): BenchGoals['benches'] {
  return existsSync(BENCH_GOALS) ? (JSON.parse(readFileSync(BENCH_GOALS, 'utf8')) as BenchGoals).benches : {};
}

function benchMisses(): string[] {
  return Object.entries(recordedBenches()).flatMap(([bench, run]) =>
    run.rows.filter((row) => !row.met).map((row) => `- Bench \`${bench}\`: ${row.figure} is ${row.measured}; the goal is ${row.goal}.`),
  );
}

function benchSection(): string[] {
  const rows = Object.entries(recordedBenches()).flatMap(([bench, run]) =>
    run.rows.map((row) => [`\`${bench}\``, row.figure, row.measured, row.baseline ?? '—', row.goal, row.met ? 'met' : '**missed**', `${run.measuredAt.slice(0, 16).replace('T', ' ')} (${run.commit})`]),
  );
  if (rows.length === 0) return [];
  return [
    '## Benchmarks against their goals',
    '',
    'From `npm run bench` (not this proof run): each figure beside its baseline measured in the same bench run, on this machine. A bench reruns alone with `npm run bench <name>`.',
    '',
    markdownTable(['Bench', 'Figure', 'Value', 'Same-run baseline', 'Goal', 'Verdict', 'Measured (commit)'], rows),
    '',
  ];
}

function firstLine(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0].trim();
  } catch {
    return 'not found';
  }
}

function environment(): [string, string][] {
  // The report's own files are rewritten by this run, so they do not make the tree count as changed.
  const dirty = firstLine('git', ['status', '--porcelain', '--', '.', ':!docs/REPORT.md', ':!docs/report']) === '' ? '' : ' (with uncommitted changes)';
  return [
    ['Kernel', `${os.type()} ${os.release()} ${os.arch()}`],
    ['CPU', `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`],
    ['Memory', `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['glibc', firstLine('ldd', ['--version'])],
    ['gcc', firstLine('gcc', ['--version'])],
    ['go', firstLine('go', ['version'])],
    ['Node.js', process.version],
    ['OpenSSL', firstLine('openssl', ['version'])],
    ['Commit', `${firstLine('git', ['rev-parse', 'HEAD'])}${dirty}`],
  ];
}

const valueOf = (f: ProofFigure) => `${typeof f.value === 'number' ? Number(f.value.toPrecision(4)) : f.value}${f.unit ? ` ${f.unit}` : ''}`;
const verdictOf = (f: ProofFigure) => (f.met === undefined ? '—' : f.met ? 'met' : '**missed**');

function render(results: ProofResult[], short: boolean): string {
  const generated = new Date().toISOString();
  const out: string[] = [
    '# Hotplane reliability and performance report',
    '',
    `Generated ${generated} by \`npm run proof\`${short ? ' (short form, as CI runs it)' : ''}; every figure below comes from that run on the machine described here. Rerun it to check them.`,
    '',
    '## Environment',
    '',
    markdownTable(['', ''], environment()),
    '',
    '## Figures against their goals',
    '',
    markdownTable(
      ['Part', 'Figure', 'Value', 'Goal', 'Verdict'],
      results.flatMap((r) => r.figures.filter((f) => f.goal).map((f) => [r.title, f.name, valueOf(f), f.goal!, verdictOf(f)])),
    ),
    '',
    '## What misses',
    '',
  ];
  const misses = results.flatMap((r) => r.figures.filter((f) => f.met === false).map((f) => `- ${r.title}: ${f.name} is ${valueOf(f)}; the goal is ${f.goal}.`));
  const broken = results.flatMap((r) => r.failures.map((f) => `- ${r.title}: broke — ${f}`));
  misses.push(...benchMisses());
  out.push(...(misses.length + broken.length === 0 ? ['Nothing: every goal is met.'] : [...misses, ...broken]), '');
  out.push(...benchSection());
  for (const r of results) {
    out.push(`## ${r.title}`, '', `Ran ${(r.durationMs / 1000).toFixed(0)} s${r.short ? ' (short form)' : ''}.`, '', r.markdown.trim(), '');
    if (r.name === 'attacks' && existsSync(THREAT_MODEL)) out.push(readFileSync(THREAT_MODEL, 'utf8').trim().replace(/^(#+) /gm, '#$1 '), '');
    for (const plot of r.plots) out.push(`![${plot.caption}](report/${plot.file})`, '', `*${plot.caption}*`, '');
    const informative = r.figures.filter((f) => !f.goal);
    if (informative.length > 0) out.push(markdownTable(['Figure', 'Value'], informative.map((f) => [f.name, valueOf(f)])), '');
  }
  return `${out.join('\n').trim()}\n`;
}

const short = isShortRun();
const results = existsSync(PROOF_RESULTS_DIR)
  ? readdirSync(PROOF_RESULTS_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(path.join(PROOF_RESULTS_DIR, f), 'utf8')) as ProofResult)
      .sort((a, b) => SECTION_ORDER.indexOf(a.name) - SECTION_ORDER.indexOf(b.name))
  : [];
if (results.length === 0) {
  console.error('report: no proof results in tmp/proof; run `npm run proof` first');
  process.exit(1);
}

const reportDir = short ? PROOF_RESULTS_DIR : path.resolve('docs');
const plotDir = path.join(reportDir, 'report');
mkdirSync(plotDir, { recursive: true });
for (const r of results) for (const plot of r.plots) writeFileSync(path.join(plotDir, plot.file), plot.svg);
const file = path.join(reportDir, 'REPORT.md');
writeFileSync(file, render(results, short));
const missed = results.reduce((n, r) => n + r.figures.filter((f) => f.met === false).length, 0);
console.log(`report: ${path.relative(process.cwd(), file)} written; ${results.length} part(s), ${missed} goal(s) missed`);
