import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { embeddedHostArgs } from '../fleet/embedded-host';
import { freePort } from '../testing/processes';
import { exampleArtifacts } from './testing';
import type { DesiredState } from '../protocol';

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
  const tokenFile = path.join(artifacts.tempDir(), 'host-token');
  writeFileSync(tokenFile, 'hph_secret-token-of-this-host\n', { mode: 0o600 });
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/host/main.ts', '--control-plane', `http://127.0.0.1:${deadConsole}`, '--token-file', tokenFile,
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

test('attack: the host token is not visible in /proc/<pid>/cmdline, given by file (the embedded host’s way) or by HOTPLANE_HOST_TOKEN', async () => {
  const artifacts = await exampleArtifacts();
  const secret = 'hph_secret-token-of-this-host';
  const hostDir = artifacts.tempDir();
  writeFileSync(path.join(hostDir, 'token'), `${secret}\n`, { mode: 0o600 });
  const [deadConsole, filePort, envPort] = [await freePort(), await freePort(), await freePort()];
  const embeddedArgs = embeddedHostArgs({ hostDir, consolePort: deadConsole, hostPort: filePort });
  const byFile = spawn(process.execPath, embeddedArgs, { cwd: ROOT, stdio: 'ignore' });
  const byEnv = spawn(process.execPath, ['--import', 'tsx', 'server/host/main.ts', '--control-plane', `http://127.0.0.1:${deadConsole}`, '--data', artifacts.tempDir(), '--port', String(envPort), '--access-log', 'off'], {
    cwd: ROOT,
    stdio: 'ignore',
    env: { ...process.env, HOTPLANE_HOST_TOKEN: secret },
  });
  try {
    for (const [child, port] of [[byFile, filePort], [byEnv, envPort]] as const) {
      while (!(await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false))) {
        if (child.exitCode !== null) assert.fail(`the host exited with ${child.exitCode}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const commandLine = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
      assert.ok(!commandLine.includes(secret), `the token is on the command line: ${commandLine.replaceAll('\0', ' ')}`);
    }
    assert.ok(readFileSync(`/proc/${byFile.pid}/cmdline`, 'utf8').includes(`--token-file\0${path.join(hostDir, 'token')}`));
  } finally {
    byFile.kill('SIGKILL');
    byEnv.kill('SIGKILL');
  }
});

function runHostExpectingFailure(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/host/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

test('attack: the host token is never taken from the command line, where ps shows it to every local user', async () => {
  const result = await runHostExpectingFailure(['--control-plane', 'http://127.0.0.1:1', '--token', 'hph_visible', '--port', '0']);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /--token puts the host token on the command line, where any local user can read it .*pass --token-file FILE, or set HOTPLANE_HOST_TOKEN/);
  const inline = await runHostExpectingFailure(['--control-plane', 'http://127.0.0.1:1', '--token=hph_visible', '--port', '0']);
  assert.match(inline.stderr, /--token puts the host token on the command line/);
});

test('attack: a token file that group or others can read is refused, naming the fix', async () => {
  const artifacts = await exampleArtifacts();
  const tokenFile = path.join(artifacts.tempDir(), 'host-token');
  writeFileSync(tokenFile, 'hph_shared\n');
  chmodSync(tokenFile, 0o644);
  const result = await runHostExpectingFailure(['--control-plane', 'http://127.0.0.1:1', '--token-file', tokenFile, '--data', artifacts.tempDir(), '--port', '0']);
  assert.notEqual(result.code, 0);
  assert.ok(result.stderr.includes(`--token-file ${tokenFile} can be read or written by others (mode 0644): run chmod 600 ${tokenFile}`), result.stderr);
});

test('attack: a metrics token file that group or others can read is refused, naming the fix', async () => {
  const artifacts = await exampleArtifacts();
  const tokenFile = path.join(artifacts.tempDir(), 'metrics-token');
  writeFileSync(tokenFile, 'scrape-me\n');
  chmodSync(tokenFile, 0o644);
  const result = await runHostExpectingFailure(['--metrics-token-file', tokenFile, '--data', artifacts.tempDir(), '--port', '0']);
  assert.notEqual(result.code, 0);
  assert.ok(result.stderr.includes(`--metrics-token-file ${tokenFile} can be read or written by others (mode 0644): run chmod 600 ${tokenFile}`), result.stderr);
});
