import { expect, test, type Browser, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_ARTIFACTS, E2E_DATA_DIR, signIn } from './helpers';

// Rollouts end to end, with the real embedded host, real modules and the demo traffic: propose, sign off in the
// browser, watch the canary move, and roll back by itself or by hand.

type Role = Parameters<typeof signIn>[1];
const APPROVER_KEY = path.join(E2E_DATA_DIR, 'demo-keys', 'approver.key.pem');
let nextAddress = 20;

// Each test drives several people through a real rollout; on a busy 2-core runner that takes more than a minute.
test.describe.configure({ mode: 'serial', timeout: 180_000 });

/** Each persona signs in from its own (documentation) address, so the 5-a-minute sign-in limit is never the test. */
async function personaPage(browser: Browser, role: Role): Promise<Page> {
  const context = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': `203.0.113.${nextAddress++}` } });
  const page = await context.newPage();
  await signIn(page, role);
  return page;
}

async function uploadSigned(page: Page, so: string) {
  await page.goto('/upload');
  await page.getByLabel('Choose artifact files').setInputFiles([so, `${so}.manifest.json`, `${so}.manifest.sig`]);
  await page.getByRole('button', { name: 'Upload and verify' }).click();
  await expect(page.getByTestId('upload-outcome')).toContainText(/Accepted|Already accepted/);
}

/** The error-prone fault variant, signed with the demo signer as a release engineer would. */
function signErrorProneVariant() {
  const so = path.join(mkdtempSync(path.join(os.tmpdir(), 'hp-rollout-')), 'ledger-1.2.3.so');
  copyFileSync(path.resolve('build/modules/ledger-1.2.3-error-prone.so'), so);
  for (const args of [
    ['manifest', so, '--module', 'ledger', '--version', '1.2.3', '--class', 'business'],
    ['sign', `${so}.manifest.json`, '--key', path.join(E2E_DATA_DIR, 'demo-keys', 'signer.key.pem')],
  ]) {
    const run = spawnSync(process.execPath, ['bin/hotplane.js', ...args], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
  }
  return so;
}

/** Two short steps (50 % then 100 %), judged every second over 3 s with at least 5 requests a side. */
async function propose(page: Page, toVersion: string, options: { reason: string; firstHold?: number; rollbackWindow?: number }) {
  await page.goto('/changes');
  const form = page.getByRole('form', { name: 'Propose a change' });
  await form.getByLabel('Module').selectOption('ledger');
  await form.getByLabel('Target version').selectOption(toVersion);
  await form.getByRole('button', { name: 'Remove step 1' }).click();
  await form.getByRole('button', { name: 'Remove step 1' }).click();
  await form.getByLabel('Hold of step 1 (s)').fill(String(options.firstHold ?? 3));
  await form.getByLabel('Hold of step 2 (s)').fill('2');
  await form.getByLabel('Analysis window (s)').fill('3');
  await form.getByLabel('Min. requests').fill('5');
  // Latency on a shared 2-core runner is noise here: these tests are about errors and people, not p95.
  await form.getByLabel('Max. p95 × stable').fill('50');
  await form.getByLabel('p95 noise (ms)').fill('200');
  await form.getByLabel('Step deadline (s)').fill('60');
  await form.getByLabel('Rollback window (s)').fill(String(options.rollbackWindow ?? 600));
  await form.getByLabel('Ticket').fill('CHG-2026-11');
  await form.getByLabel('Reason').fill(options.reason);
  await form.getByRole('button', { name: 'Propose and send for approval' }).click();
  await expect(page).toHaveURL(/\/changes\/cr-\d+/);
  await expect(page.getByTestId('change-state')).toHaveText('Waiting for approval');
  return page.url();
}

async function approveInBrowser(page: Page, url: string) {
  await page.goto(url);
  await page.getByLabel('Load your approval private key').setInputFiles(APPROVER_KEY);
  await expect(page.getByRole('status', { name: 'Approval private key' })).toContainText('loaded from file approver.key.pem, fingerprint');
  await expect(page.getByText('-----BEGIN PRIVATE KEY-----')).toHaveCount(0);
  await page.getByRole('button', { name: 'Sign and approve' }).click();
  await expect(page.getByTestId('change-state')).toHaveText('Approved');
}

test('operator proposes ledger 1.1.0, an approval before an edit is void, the approver signs again in the browser, and it reaches 100 %', async ({ browser }) => {
  const operator = await personaPage(browser, 'operator');
  await uploadSigned(operator, path.join(DEMO_ARTIFACTS, 'ledger-1.1.0.so'));
  const url = await propose(operator, '1.1.0', { reason: 'fee schedule 2027' });
  await expect(operator.getByRole('region', { name: 'Your decision' })).toHaveCount(0);

  const approver = await personaPage(browser, 'approver');
  await approver.getByRole('link', { name: 'Changes' }).click();
  await expect(approver.getByRole('table', { name: 'Approval queue' })).toContainText('1.0.0 → 1.1.0');
  await approver.screenshot({ path: 'test-results/screens/approver-queue.png', fullPage: true });
  await approveInBrowser(approver, url);

  // The requester edits the plan after the sign-off: the approval no longer counts and the request waits again.
  await operator.reload();
  await operator.getByRole('button', { name: 'Edit', exact: true }).click();
  await operator.getByLabel('Hold of step 1 (s)').fill('4');
  await operator.getByRole('button', { name: 'Save and send for approval again' }).click();
  await expect(operator.getByTestId('change-state')).toHaveText('Waiting for approval');
  await expect(operator.getByRole('table', { name: 'Approval signatures' }).locator('tr[data-standing="void"]')).toHaveCount(1);

  await approveInBrowser(approver, url);
  await operator.getByRole('button', { name: 'Start rollout' }).click();
  await expect(operator.getByRole('list', { name: 'Plan progress' }).locator('li[data-status="current"]')).toHaveCount(1, { timeout: 20_000 });
  await expect(operator.getByTestId('change-state')).toHaveText('Promoted', { timeout: 60_000 });
  await expect(operator.getByRole('status', { name: 'Outcome' })).toContainText('Promoted');
  await expect(operator.getByRole('table', { name: 'Analysis decisions' }).locator('tr[data-verdict="pass"]').first()).toBeVisible();
  await operator.screenshot({ path: 'test-results/screens/operator-request.png', fullPage: true });

  await operator.getByRole('link', { name: 'ledger' }).first().click();
  await expect(operator.getByRole('list', { name: 'Health per desired version' })).toContainText('1.1.0 100%');
  await expect(operator.getByRole('table', { name: /Versions on embedded/ })).toContainText('1.0.0');
  const requests = operator.getByRole('figure', { name: 'Requests' });
  await expect(requests).toContainText('1.0.0');
  await expect(requests).toContainText('1.1.0');
  await expect(operator.getByRole('figure', { name: 'Canary weight' })).toBeVisible();
  await operator.screenshot({ path: 'test-results/screens/operator-module.png', fullPage: true });
});

test('a request for the error-prone variant rolls back by itself and the page names the failing metric', async ({ browser }) => {
  const operator = await personaPage(browser, 'operator');
  await uploadSigned(operator, signErrorProneVariant());
  const url = await propose(operator, '1.2.3', { reason: 'try the faulty build', firstHold: 30 });
  const approver = await personaPage(browser, 'approver');
  await approveInBrowser(approver, url);
  await operator.goto(url);
  await operator.getByRole('button', { name: 'Start rollout' }).click();
  await expect(operator.getByTestId('change-state')).toHaveText('Rolled back', { timeout: 60_000 });
  const outcome = operator.getByRole('status', { name: 'Outcome' });
  await expect(outcome).toContainText('Rolled back automatically');
  await expect(outcome).toContainText(/Metric error/);
  await expect(operator.getByRole('table', { name: 'Analysis decisions' }).locator('tr[data-verdict="breach"]').first()).toBeVisible();
  await operator.screenshot({ path: 'test-results/screens/operator-rolled-back.png', fullPage: true });
});

test('on-call rolls back a healthy canary from the on-call screen and all traffic is on the stable within seconds', async ({ browser }) => {
  const operator = await personaPage(browser, 'operator');
  const url = await propose(operator, '1.0.0', { reason: 'compare the old fee path', firstHold: 50 });
  const approver = await personaPage(browser, 'approver');
  await approveInBrowser(approver, url);
  await operator.goto(url);
  await operator.getByRole('button', { name: 'Start rollout' }).click();
  await expect(operator.getByTestId('change-state')).toHaveText('Canary', { timeout: 30_000 });

  const oncall = await personaPage(browser, 'oncall');
  await oncall.getByRole('link', { name: 'On call' }).click();
  const row = oncall.locator('tr[data-module="ledger"]');
  await expect(row.getByTestId('weights')).toContainText('1.0.0 50%');
  await oncall.screenshot({ path: 'test-results/screens/oncall.png', fullPage: true });
  await row.getByRole('button', { name: 'Roll back ledger' }).click();
  const dialog = oncall.getByRole('dialog');
  await dialog.getByLabel('Reason').fill('latency alarm at 03:00');
  await dialog.getByRole('button', { name: 'Roll back now' }).click();
  await expect(row.getByTestId('weights')).toHaveText(/^1\.1\.0 100%/, { timeout: 10_000 });

  await operator.goto(url);
  await expect(operator.getByTestId('change-state')).toHaveText('Rolled back');
  await expect(operator.getByRole('status', { name: 'Outcome' })).toContainText('latency alarm at 03:00');
});

test('an auditor reads requests but is offered no action', async ({ browser }) => {
  const auditor = await personaPage(browser, 'auditor');
  await auditor.getByRole('link', { name: 'Changes' }).click();
  await expect(auditor.getByRole('table', { name: 'Change requests' })).toContainText('1.2.3');
  await expect(auditor.getByRole('form', { name: 'Propose a change' })).toHaveCount(0);
  await auditor.getByRole('link', { name: 'On call' }).click();
  await expect(auditor.getByRole('button', { name: 'Roll back ledger' })).toHaveCount(0);
  await auditor.screenshot({ path: 'test-results/screens/auditor-oncall.png', fullPage: true });
});

test('a person who is both operator and approver cannot approve their own request', async ({ browser }) => {
  const admin = await personaPage(browser, 'admin');
  await admin.getByRole('link', { name: 'Users' }).click();
  const form = admin.getByRole('form', { name: 'Add a user' });
  await form.getByLabel('Name').fill('Dual Role');
  await form.getByLabel('E-mail').fill('dual@hotplane.local');
  await form.getByLabel('operator').check();
  await form.getByLabel('approver').check();
  await form.getByRole('button', { name: 'Add user' }).click();
  await expect(admin.getByRole('dialog')).toContainText('Give Dual Role (dual@hotplane.local) the operator and approver roles?');
  await admin.getByRole('dialog').getByRole('button', { name: 'Create user with these roles' }).click();
  const created = (await admin.getByRole('status').filter({ hasText: 'Password (shown once)' }).textContent())!;
  const password = /Password \(shown once\): (\S+)/.exec(created)![1];

  const context = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': `203.0.113.${nextAddress++}` } });
  const dual = await context.newPage();
  await dual.goto('/login');
  await dual.getByLabel('E-mail').fill('dual@hotplane.local');
  await dual.getByLabel('Password').fill(password);
  await dual.getByRole('button', { name: 'Sign in' }).click();
  await expect(dual.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();

  // A key made in this browser: the private half only ever exists as the downloaded file.
  await dual.getByRole('link', { name: 'Profile' }).click();
  await dual.getByRole('button', { name: 'Generate a key pair in this browser' }).click();
  const download = dual.waitForEvent('download');
  await dual.getByRole('link', { name: 'Download the private key (PEM)' }).click();
  const keyFile = await (await download).path();
  await dual.getByLabel('Key label').fill('dual laptop');
  await dual.getByRole('button', { name: 'Register key' }).click();
  await expect(dual.getByRole('status').filter({ hasText: 'Registered "dual laptop"' })).toBeVisible();

  const url = await propose(dual, '1.0.0', { reason: 'my own change' });
  await expect(dual.getByRole('region', { name: 'Your decision' })).toHaveCount(0);
  await expect(dual.getByRole('note')).toHaveText('You proposed this change; another approver must sign it off.');
  await dual.goto('/changes');
  await expect(dual.getByRole('table', { name: 'Change requests' })).toContainText('1.1.0 → 1.0.0');
  await expect(dual.getByText('Nothing waits for you.')).toBeVisible();
  expect(readFileSync(keyFile, 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');

  // The request ends here, so the module is left as the earlier tests left it.
  await dual.goto(url);
  await dual.getByRole('button', { name: 'Cancel request' }).click();
  await dual.getByRole('dialog').getByLabel('Reason').fill('only a test of self-approval');
  await dual.getByRole('dialog').getByRole('button', { name: 'Cancel request' }).click();
  await expect(dual.getByTestId('change-state')).toHaveText('Cancelled');
});
