#!/usr/bin/env node
// The CLI runs the same server/ TypeScript as the console, through tsx, with the react-server condition
// that server-only modules require.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = fileURLToPath(new URL('../server/cli/main.ts', import.meta.url));
// tsx is resolved from this package, so the CLI works from any working directory.
const tsx = import.meta.resolve('tsx');
const result = spawnSync(process.execPath, ['--conditions=react-server', '--import', tsx, main, ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: process.cwd(),
  env: { ...process.env, HOTPLANE_ROOT: process.env.HOTPLANE_ROOT ?? root },
});
process.exit(result.status ?? 1);
