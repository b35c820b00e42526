import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DesiredState } from '../protocol';
import { freePort, exited } from '../testing/processes';
import { exampleArtifacts } from './testing';

// `hotplane host --desired-state FILE --artifacts DIR`: a host with no console at all (benches, tests, an isolated
// machine), its state checked against the protocol's schema and every artifact's SM3 verified before loading.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// Every process of one host run carries this in its environment (workers inherit it), so what outlives the host is found.
const RUN_MARK = 'HOTPLANE_STANDALONE_TEST_RUN';

function processesOfRun(run: string): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${RUN_MARK}=${run}`);
    } catch {
      return false;
    }
  }).map(Number);
}

function startStandalone(dataDir: string, stateFile: string, artifactDir: string, port: number, run = 'none') {
  const stderr: string[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/host/main.ts', '--desired-state', stateFile, '--artifacts', artifactDir, '--data', dataDir,
    '--port', String(port), '--access-log', 'off', '--workers', '2'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, [RUN_MARK]: run } });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => stderr.push(text));
  return { child, stderr };
}

test('a standalone host serves the desired state of its local file, from artifacts in a folder', async () => {
  const artifacts = await exampleArtifacts();
  const work = artifacts.tempDir();
  const version = await artifacts.version('ledger', '1.1.0', { config: 'alice 9\n' });
  mkdirSync(path.join(work, 'store'));
  copyFileSync(artifacts.artifactPath(version.sm3), path.join(work, 'store', `${version.sm3}.so`));
  const state: DesiredState = { generation: 3, modules: [{ module: 'ledger', versions: [version] }] };
  writeFileSync(path.join(work, 'state.json'), JSON.stringify(state));
  const port = await freePort();
  const { child, stderr } = startStandalone(path.join(work, 'data'), path.join(work, 'state.json'), path.join(work, 'store'), port);
  try {
    let answer: { status: number; body: string } | null = null;
    while (!answer) {
      if (child.exitCode !== null) assert.fail(`the host exited with ${child.exitCode}: ${stderr.join('')}`);
      answer = await fetch(`http://127.0.0.1:${port}/v1/invoke/ledger`, { method: 'POST', body: 'balance alice' }).then(async (r) => ({ status: r.status, body: await r.text() }), () => null);
      if (!answer) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(answer, { status: 200, body: 'alice 9' });
  } finally {
    // An orderly stop, so its workers and cells are gone when the test ends (a killed primary's workers leave on their own time).
    child.kill('SIGTERM');
    await exited(child);
  }
});

test('attack: a standalone state file that is not a DesiredState, or not JSON, is refused before any worker starts, naming what is wrong, and nothing serves', async () => {
  const artifacts = await exampleArtifacts();
  const work = artifacts.tempDir();
  const cases: [string, RegExp][] = [
    [JSON.stringify({ generation: 1, modules: [{ module: 'ledger', versions: [{ version: '1.0.0', sm3: 'not-a-digest', weight: 100, isolation: 'process' }] }] }), /--desired-state .*not a DesiredState: modules\.0\.versions\.0\.sm3/],
    ['{"generation": 1, "modules": [', /--desired-state .*state\.json: not JSON/],
  ];
  for (const [text, named] of cases) {
    writeFileSync(path.join(work, 'state.json'), text);
    const port = await freePort();
    const run = crypto.randomUUID();
    const { child, stderr } = startStandalone(path.join(work, 'data'), path.join(work, 'state.json'), work, port, run);
    await exited(child);
    assert.notEqual(child.exitCode, 0);
    assert.match(stderr.join(''), named);
    // Checked by the primary first: no worker was forked that would outlive it.
    assert.deepEqual(processesOfRun(run), [], 'no process of the refused host is left');
    assert.doesNotMatch(stderr.join(''), /worker \d+: started/);
    assert.equal(await fetch(`http://127.0.0.1:${port}/healthz`).then(() => 'answered', () => 'refused'), 'refused');
  }
});
