// `npm run proof [-- --short] [name…]`: the proof suite. Runs proof/*.proof.ts one after another, each in its own
// process with a time limit (the whole full run stays within 15 minutes), then proof/report.ts. A full run rewrites
// docs/REPORT.md; the short form (CI) writes tmp/proof/REPORT.md and leaves the published report alone.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const short = args.includes('--short') || process.env.PROOF_SHORT === '1';
const only = args.filter((a) => !a.startsWith('--'));
// Per-proof limits. The attacks part runs the attack tests only, so it is usually done in well under a minute.
const LIMIT_MS = short
  ? { faults: 150_000, fleet: 180_000, rollback: 150_000, soak: 90_000, security: 120_000, attacks: 300_000, audit: 60_000 }
  : { faults: 300_000, fleet: 300_000, rollback: 180_000, soak: 180_000, security: 120_000, attacks: 300_000, audit: 60_000 };
const DEFAULT_LIMIT_MS = short ? 90_000 : 120_000;

const proofs = readdirSync(path.join(root, 'proof'))
  .filter((f) => f.endsWith('.proof.ts'))
  .map((f) => f.replace(/\.proof\.ts$/, ''))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort((a, b) => Object.keys(LIMIT_MS).indexOf(a) - Object.keys(LIMIT_MS).indexOf(b));

rmSync(path.join(root, 'tmp', 'proof'), { recursive: true, force: true });
const tsx = ['--conditions=react-server', '--import', 'tsx'];
const broken = [];
for (const name of proofs) {
  const limit = LIMIT_MS[name] ?? DEFAULT_LIMIT_MS;
  console.log(`\n##### proof: ${name} (${short ? 'short' : 'full'}, limit ${limit / 1000} s)`);
  const started = Date.now();
  const run = spawnSync(process.execPath, [...tsx, `proof/${name}.proof.ts`, ...(short ? ['--short'] : [])], {
    cwd: root,
    stdio: 'inherit',
    timeout: limit,
    killSignal: 'SIGKILL',
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (run.error?.code === 'ETIMEDOUT' || run.signal) broken.push(`${name}: stopped after ${seconds} s (limit ${limit / 1000} s)`);
  else if (run.status !== 0) broken.push(`${name}: exit ${run.status} after ${seconds} s`);
  else console.log(`##### ${name} done in ${seconds} s`);
}

const report = spawnSync(process.execPath, [...tsx, 'proof/report.ts', ...(short ? ['--short'] : [])], { cwd: root, stdio: 'inherit' });
if (report.status !== 0) broken.push(`report: exit ${report.status}`);
if (broken.length > 0) {
  console.error(`\nproof suite: ${broken.length} part(s) broke:\n  ${broken.join('\n  ')}`);
  process.exit(1);
}
console.log('\nproof suite: every part ran');
