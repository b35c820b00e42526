import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../testing/processes';
import { exampleArtifacts } from './testing';
import type { DesiredState } from './types';

// `hotplane host` restarted on its data folder while the console is unreachable: it serves its persisted desired
// state, and its invoke API opens only once that state is loaded.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('a host restarted without its console serves the persisted state, and opens only once it is loaded', async () => {
  const artifacts = await exampleArtifacts();
  const dataDir = artifacts.tempDir();
  const version = await artifacts.version('ledger', '1.1.0', { config: 'alice 7\n' });
  const persisted: DesiredState = { generation: 41, modules: [{ module: 'ledger', versions: [version] }] };
  writeFileSync(path.join(dataDir, 'desired-state.json'), JSON.stringify(persisted));
  mkdirSync(path.join(dataDir, 'artifacts'));
  copyFileSync(artifacts.artifactPath(version.sm3), path.join(dataDir, 'artifacts', `${version.sm3}.so`));
  const [port, deadConsole] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/host/main.ts', '--control-plane', `http://127.0.0.1:${deadConsole}`, '--token', 't',
    '--data', dataDir, '--port', String(port), '--access-log', 'off'], { cwd: ROOT, stdio: 'ignore' });
  try {
    let first: { status: number; body: string } | null = null;
    while (!first) {
      first = await fetch(`http://127.0.0.1:${port}/v1/invoke/ledger`, { method: 'POST', body: 'balance alice' })
        .then(async (r) => ({ status: r.status, body: await r.text() }), () => null);
      if (child.exitCode !== null) assert.fail(`the host exited with ${child.exitCode}`);
      if (!first) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(first, { status: 200, body: 'alice 7' }, 'the very first answer is served');
    const token = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
    const status = (await (await fetch(`http://127.0.0.1:${port}/v1/status`, { headers: { authorization: `Bearer ${token}` } })).json()) as { generation: number };
    assert.equal(status.generation, 41);
  } finally {
    child.kill('SIGKILL');
  }
});
