import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { embeddedHostArgs } from '../fleet/embedded-host';
import { registerHost } from '../fleet/hosts';
import { FleetMetrics } from '../fleet/metrics-store';
import { createConsoleFixture } from '../testing/console-fixture';
import { provisionHostIdentity, startTestFleet, testFleetCa } from '../testing/host-identity';
import { freePort } from '../testing/processes';
import { waitFor } from '../testing/wait-for';
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
  // Enrolled before (its certificate in its folder), so it needs the console for nothing at start.
  await provisionHostIdentity(dataDir, await testFleetCa(), 'edge-1');
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/host/main.ts', '--control-plane', `https://127.0.0.1:${deadConsole}`,
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

test('attack: the join token is not visible in /proc/<pid>/cmdline, given by file (the embedded host’s way) or by HOTPLANE_JOIN_TOKEN; both real hosts enrol', async () => {
  const f = await createConsoleFixture();
  const fleet = await startTestFleet(f.db, new FleetMetrics());
  const artifacts = await exampleArtifacts();
  const admin = { id: 'u-admin', name: 'admin@test', roles: ['admin'] };
  const [byFileToken, byEnvToken] = [(await registerHost(f.db, admin, { name: 'edge-file' })).joinToken, (await registerHost(f.db, admin, { name: 'edge-env' })).joinToken];
  const hostDir = artifacts.tempDir();
  writeFileSync(path.join(hostDir, 'join-token'), `${byFileToken}\n`, { mode: 0o600 });
  writeFileSync(path.join(hostDir, 'console-ca.pem'), fleet.ca.certificatePem);
  const [filePort, envPort] = [await freePort(), await freePort()];
  const byFile = spawn(process.execPath, embeddedHostArgs({ hostDir, fleetPort: fleet.listener.port, hostPort: filePort }), { cwd: ROOT, stdio: 'ignore' });
  const byEnv = spawn(process.execPath, ['--import', 'tsx', 'server/host/main.ts', '--control-plane', fleet.url, '--console-ca', fleet.ca.certFile, '--data', artifacts.tempDir(),
    '--port', String(envPort), '--access-log', 'off'], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, HOTPLANE_JOIN_TOKEN: byEnvToken } });
  try {
    for (const [child, port, secret] of [[byFile, filePort, byFileToken], [byEnv, envPort, byEnvToken]] as const) {
      while (!(await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false))) {
        if (child.exitCode !== null) assert.fail(`the host exited with ${child.exitCode}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const commandLine = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
      assert.ok(!commandLine.includes(secret), `the token is on the command line: ${commandLine.replaceAll('\0', ' ')}`);
    }
    assert.ok(readFileSync(`/proc/${byFile.pid}/cmdline`, 'utf8').includes(`--join-token-file\0${path.join(hostDir, 'join-token')}`));
    for (const hostId of ['edge-file', 'edge-env']) {
      await waitFor(`${hostId} to report over mutual TLS`, async () => (await f.db.host.findUniqueOrThrow({ where: { id: hostId } })).lastSeenAt);
      assert.equal(await f.db.hostCertificate.count({ where: { hostId } }), 1);
    }
  } finally {
    byFile.kill('SIGKILL');
    byEnv.kill('SIGKILL');
    await fleet.close();
  }
});

function runHostExpectingFailure(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/host/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

test('attack: a join token is never taken from the command line, where ps shows it to every local user', async () => {
  const result = await runHostExpectingFailure(['--control-plane', 'https://127.0.0.1:1', '--join-token', 'hpj_visible', '--port', '0']);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /--join-token puts a secret on the command line, where any local user can read it .*pass --join-token-file FILE, or set HOTPLANE_JOIN_TOKEN/);
  const inline = await runHostExpectingFailure(['--control-plane', 'https://127.0.0.1:1', '--token=hph_visible', '--port', '0']);
  assert.match(inline.stderr, /--token puts a secret on the command line/);
});

test('attack: a join token file that group or others can read is refused, naming the fix', async () => {
  const artifacts = await exampleArtifacts();
  const tokenFile = path.join(artifacts.tempDir(), 'join-token');
  writeFileSync(tokenFile, 'hpj_shared\n');
  chmodSync(tokenFile, 0o644);
  const ca = await testFleetCa();
  const result = await runHostExpectingFailure(['--control-plane', 'https://127.0.0.1:1', '--console-ca', ca.certFile, '--join-token-file', tokenFile, '--data', artifacts.tempDir(), '--port', '0']);
  assert.notEqual(result.code, 0);
  assert.ok(result.stderr.includes(`--join-token-file ${tokenFile} can be read or written by others (mode 0644): run chmod 600 ${tokenFile}`), result.stderr);
});

test('a host pointed at the fleet API over plain HTTP is refused with the fix', async () => {
  const artifacts = await exampleArtifacts();
  const result = await runHostExpectingFailure(['--control-plane', 'http://127.0.0.1:1', '--data', artifacts.tempDir(), '--port', '0']);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /the fleet API is served over TLS only; give its https:\/\/ URL/);
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
