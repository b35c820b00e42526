import { expect, test, type Browser } from '@playwright/test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { signIn } from './helpers';

// The console is killed with SIGKILL in the middle of a canary step and started again on the same data: the engine
// picks the request up where it stood, never repeats or skips a step, and the rollout finishes.
// This spec runs its own console (not the shared one), on its own port and data folder.

const PORT = Number(process.env.E2E_PORT ?? 3100) + 50;
const BASE_URL = `http://localhost:${PORT}`;
const DATA_DIR = path.resolve('tmp', 'e2e-restart-data');
let address = 60;

function startConsole(keepData: boolean): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['scripts/e2e-server.mjs', String(PORT)], {
    env: { ...process.env, E2E_DATA_DIR: DATA_DIR, E2E_KEEP_DATA: keepData ? '1' : '0', HOTPLANE_HOST_PORT: String(PORT + 4000) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 120_000;
    const poll = async () => {
      if (child.exitCode !== null) return reject(new Error(`console exited with ${child.exitCode}`));
      if (Date.now() > deadline) return reject(new Error('console did not start in 120 s'));
      const ready = await fetch(`${BASE_URL}/login`).then((r) => r.ok).catch(() => false);
      if (ready) resolve(child);
      else setTimeout(poll, 250);
    };
    void poll();
  });
}

/** SIGKILL to every process of the console except its embedded host, which is left running as after a crash. */
function killConsole(child: ChildProcess) {
  const hostPid = readFileSync(path.join(`${DATA_DIR}-host`, 'host.pid'), 'utf8').trim();
  const group = spawnSync('pgrep', ['-g', String(child.pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const pid of group) if (pid !== hostPid) process.kill(Number(pid), 'SIGKILL');
  return new Promise((resolve) => child.once('exit', resolve));
}

async function persona(browser: Browser, role: Parameters<typeof signIn>[1]) {
  const context = await browser.newContext({ baseURL: BASE_URL, extraHTTPHeaders: { 'x-forwarded-for': `203.0.113.${address++}` } });
  const page = await context.newPage();
  await signIn(page, role);
  return page;
}

let consoleProcess: ChildProcess | undefined;

test.afterAll(() => {
  if (consoleProcess?.pid && consoleProcess.exitCode === null) process.kill(-consoleProcess.pid, 'SIGTERM');
});

test('a console killed with SIGKILL mid-rollout resumes the request where it stood', async ({ browser }) => {
  test.setTimeout(240_000);
  consoleProcess = await startConsole(false);
  const operator = await persona(browser, 'operator');
  await operator.goto('/upload');
  const so = path.join(DATA_DIR, 'demo-artifacts', 'ledger-1.1.0.so');
  await operator.getByLabel('Choose artifact files').setInputFiles([so, `${so}.manifest.json`, `${so}.manifest.sig`]);
  await operator.getByRole('button', { name: 'Upload and verify' }).click();
  await expect(operator.getByTestId('upload-outcome')).toContainText('Accepted');

  await operator.goto('/changes');
  const form = operator.getByRole('form', { name: 'Propose a change' });
  await form.getByLabel('Module').selectOption('ledger');
  await form.getByLabel('Target version').selectOption('1.1.0');
  await form.getByRole('button', { name: 'Remove step 1' }).click();
  await form.getByRole('button', { name: 'Remove step 1' }).click();
  await form.getByLabel('Hold of step 1 (s)').fill('20');
  await form.getByLabel('Hold of step 2 (s)').fill('2');
  await form.getByLabel('Analysis window (s)').fill('3');
  await form.getByLabel('Min. requests').fill('5');
  await form.getByLabel('Max. p95 × stable').fill('50');
  await form.getByLabel('p95 noise (ms)').fill('200');
  await form.getByLabel('Step deadline (s)').fill('120');
  await form.getByLabel('Reason').fill('survive a console crash');
  await form.getByRole('button', { name: 'Propose and send for approval' }).click();
  // The seed's first versions of the demo fleet took the first ids.
  await expect(operator).toHaveURL(/\/changes\/cr-\d+$/);

  const approver = await persona(browser, 'approver');
  await approver.goto(operator.url());
  await approver.getByLabel('Load your approval private key').setInputFiles(path.join(DATA_DIR, 'demo-keys', 'approver.key.pem'));
  await approver.getByRole('button', { name: 'Sign and approve' }).click();
  await expect(approver.getByTestId('change-state')).toHaveText('Approved');

  await operator.reload();
  await operator.getByRole('button', { name: 'Start rollout' }).click();
  await expect(operator.getByRole('list', { name: 'Plan progress' }).locator('li').first()).toHaveAttribute('data-status', 'current', { timeout: 30_000 });
  // The hosts confirmed step 1 and the analysis is judging it: the middle of the hold.
  await expect(operator.getByRole('table', { name: 'Analysis decisions' }).locator('tbody tr').first()).toBeVisible({ timeout: 30_000 });

  await killConsole(consoleProcess);
  consoleProcess = await startConsole(true);

  await operator.reload();
  await expect(operator.getByTestId('change-state')).toHaveText('Promoted', { timeout: 90_000 });
  const phases = operator.getByRole('table', { name: 'Phases' });
  await expect(phases.locator('tbody tr', { hasText: /^preflight/ })).toHaveCount(1);
  await expect(phases.locator('tbody tr', { hasText: /^step 1 · 50%/ })).toHaveCount(1);
  await expect(phases.locator('tbody tr', { hasText: /^step 2 · 100%/ })).toHaveCount(1);
  await operator.goto('/modules/ledger');
  await expect(operator.getByRole('list', { name: 'Health per desired version' })).toContainText('1.1.0 100%');
});
