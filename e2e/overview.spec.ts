import { expect, test, type Browser, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { E2E_DATA_DIR, signIn } from './helpers';

// The overview (landing page) per persona, a break-glass rollback from the overview to its review acknowledged by
// someone else, the changes list's filters in the URL, and the webhooks page delivering a test event to a receiver
// on loopback. The canary is the ledger variant that stays resident after dlclose (1.2.12; healthy while it serves, in a process cell), which no other spec uses.

test.describe.configure({ mode: 'serial', timeout: 180_000 });

type Role = Parameters<typeof signIn>[1];
const APPROVER_KEY = path.join(E2E_DATA_DIR, 'demo-keys', 'approver.key.pem');
let nextAddress = 40;

/** Each persona from its own (documentation) address, so the sign-in rate limit is never the test. */
async function personaPage(browser: Browser, role: Role): Promise<Page> {
  const context = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': `192.0.2.${nextAddress++}` } });
  const page = await context.newPage();
  await signIn(page, role);
  return page;
}

function signResidentVariant() {
  const so = path.join(mkdtempSync(path.join(os.tmpdir(), 'hp-overview-')), 'ledger-1.2.12.so');
  copyFileSync(path.resolve('build/modules/ledger-1.2.12-resident.so'), so);
  for (const args of [
    ['manifest', so, '--module', 'ledger', '--version', '1.2.12', '--class', 'business'],
    ['sign', `${so}.manifest.json`, '--key', path.join(E2E_DATA_DIR, 'demo-keys', 'signer.key.pem')],
  ]) {
    const run = spawnSync(process.execPath, ['bin/hotplane.js', ...args], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
  }
  return so;
}

test('each persona lands on the overview and sees the sections meant for them', async ({ browser }) => {
  for (const role of ['admin', 'operator', 'approver', 'oncall', 'auditor'] as const) {
    const page = await personaPage(browser, role);
    await expect(page).toHaveURL(/\/$/);
    for (const name of ['Running rollouts', 'Open circuit breakers', 'Rollbacks of the last 24 h', 'Open post-incident reviews', 'Hosts out of sync or silent', 'Flagged versions']) {
      await expect(page.getByRole('heading', { name, level: 2 })).toBeVisible();
    }
    await expect(page.getByRole('heading', { name: role === 'approver' ? 'Waiting for your approval' : 'Waiting for approval', level: 2 })).toBeVisible();
    // Empty sections say so in a line.
    await expect(page.locator('[data-section="breakers"]')).toContainText('No circuit breaker open.');
    await expect(page.getByRole('link', { name: 'Webhooks' })).toHaveCount(role === 'admin' ? 1 : 0);
    await page.screenshot({ path: `test-results/screens/${role}-overview.png`, fullPage: true });
    await page.context().close();
  }
});

test('a one-click rollback shows on the overview, opens its review, and another person acknowledges it', async ({ browser }) => {
  const operator = await personaPage(browser, 'operator');
  await operator.goto('/upload');
  const so = signResidentVariant();
  await operator.getByLabel('Choose artifact files').setInputFiles([so, `${so}.manifest.json`, `${so}.manifest.sig`]);
  await operator.getByRole('button', { name: 'Upload and verify' }).click();
  await expect(operator.getByTestId('upload-outcome')).toContainText(/Accepted|Already accepted/, { timeout: 30_000 });

  await operator.goto('/changes');
  const form = operator.getByRole('form', { name: 'Propose a change' });
  await form.getByLabel('Module').selectOption('ledger');
  await form.getByLabel('Target version').selectOption('1.2.12');
  await form.getByRole('button', { name: 'Remove step 1' }).click();
  await form.getByRole('button', { name: 'Remove step 1' }).click();
  // A long first step that never breaches : still running when on-call pulls it.
  await form.getByLabel('Hold of step 1 (s)').fill('600');
  await form.getByLabel('Max. errors (%)').fill('100');
  await form.getByLabel('Max. errors × stable').fill('1000');
  await form.getByLabel('Max. p95 (ms)').fill('600000');
  await form.getByLabel('Max. p95 × stable').fill('1000');
  await form.getByLabel('p95 noise (ms)').fill('60000');
  await form.getByLabel('Step deadline (s)').fill('3600');
  await form.getByLabel('Reason').fill('overview spec: resident build under watch');
  await form.getByRole('button', { name: 'Propose and send for approval' }).click();
  await expect(operator).toHaveURL(/\/changes\/cr-\d+/);
  const url = operator.url();
  const id = url.split('/').pop()!;

  const approver = await personaPage(browser, 'approver');
  await expect(approver.locator(`[data-section="approvals"] li[data-change="${id}"]`)).toBeVisible();
  await approver.locator(`[data-section="approvals"]`).getByRole('link', { name: id }).click();
  await approver.getByLabel('Load your approval private key').setInputFiles(APPROVER_KEY);
  await approver.getByRole('button', { name: 'Sign and approve' }).click();
  await expect(approver.getByTestId('change-state')).toHaveText('Approved');

  await operator.reload();
  await operator.getByRole('button', { name: 'Start rollout' }).click();
  await expect(operator.getByTestId('change-state')).toHaveText('Canary', { timeout: 60_000 });
  await operator.goto('/');
  const running = operator.locator(`[data-section="rollouts"] li[data-change="${id}"]`);
  await expect(running).toContainText('step 1 of 2', { timeout: 20_000 });

  const oncall = await personaPage(browser, 'oncall');
  await oncall.getByRole('link', { name: 'On call' }).click();
  const row = oncall.locator('tr[data-module="ledger"]');
  await row.getByRole('button', { name: 'Roll back ledger' }).click();
  const dialog = oncall.getByRole('dialog');
  await dialog.getByLabel('Reason').fill('slow checkout at 03:00');
  await dialog.getByRole('button', { name: 'Roll back now' }).click();
  await expect(row.getByTestId('weights')).toHaveText(/^1\.0\.0 100%/, { timeout: 20_000 });

  await oncall.getByRole('link', { name: 'Overview' }).click();
  const rollback = oncall.locator(`[data-section="rollbacks"] li[data-change="${id}"]`);
  await expect(rollback).toContainText('one-click rollback');
  await expect(rollback).toContainText('slow checkout at 03:00');
  await expect(oncall.locator(`[data-section="rollouts"] li[data-change="${id}"]`)).toHaveCount(0);
  await rollback.getByRole('link', { name: 'review' }).click();
  await expect(oncall.getByRole('heading', { name: /Review: ledger 1\.2\.12 → / })).toBeVisible();
  await expect(oncall.getByRole('table', { name: 'Timeline' }).locator('tr[data-action="review.opened"]')).toHaveCount(1);
  // Shown, not hidden: on-call may not acknowledge, and the page says so.
  await expect(oncall.getByTestId('acknowledge-refusal')).toBeVisible();
  const reviewUrl = oncall.url();

  await approver.goto(reviewUrl);
  await approver.getByLabel('What was learned or decided').fill('slow path traced to the fee lookup; fix before retry');
  await approver.getByRole('button', { name: 'Acknowledge' }).click();
  await expect(approver.getByTestId('acknowledged')).toContainText('slow path traced to the fee lookup');
  await expect(approver.getByRole('table', { name: 'Timeline' }).locator('tr[data-action="review.acknowledged"]')).toHaveCount(1);
  await approver.goto('/reviews?all=1');
  await expect(approver.getByRole('table', { name: 'Post-incident reviews' }).locator('tbody tr').first()).toBeVisible();

  // Leave the registry as later specs expect it: withdrawn, 1.2.12 no longer raises the bar for ledger 1.1.0's upload
  // (semver must rise). There is no revoke button yet, so the admin calls the API from the page, cookie and origin included.
  const admin = await personaPage(browser, 'admin');
  const revoked = await admin.evaluate(async () => {
    const detail = await (await fetch(`/api/trpc/modules.detail?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { name: 'ledger' } }))}`)).json();
    const version = detail[0].result.data.versions.find((v: { version: string }) => v.version === '1.2.12');
    const response = await fetch('/api/trpc/modules.revokeVersion?batch=1', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ 0: { versionId: version.id, reason: 'e2e: overview spec canary, withdrawn after its review' } }),
    });
    return response.status;
  });
  expect(revoked).toBe(200);
});

test('the changes filters live in the URL and show who rolled back and why', async ({ browser }) => {
  const operator = await personaPage(browser, 'operator');
  await operator.goto('/changes?state=RolledBack&module=ledger');
  const table = operator.getByRole('table', { name: 'Change requests' });
  await expect(table).toContainText('one-click rollback');
  await expect(table).toContainText('slow checkout at 03:00');
  await expect(operator.getByRole('checkbox', { name: 'Rolled back' })).toBeChecked();
  // The URL is the state: a click updates it and the checkbox follows (so click, then expect, not check()).
  await operator.getByRole('checkbox', { name: 'Proposed by me' }).click();
  await expect(operator).toHaveURL(/mine=1/);
  await operator.reload();
  await expect(operator.getByRole('checkbox', { name: 'Proposed by me' })).toBeChecked();
  await expect(table).toContainText('slow checkout at 03:00');
  await operator.getByRole('checkbox', { name: 'Draft' }).click();
  await expect(operator).toHaveURL(/state=Draft/);
  await operator.getByRole('checkbox', { name: 'Rolled back' }).click();
  await expect(operator).not.toHaveURL(/state=RolledBack/);
  await expect(operator.getByText('No change request matches these filters.')).toBeVisible();

  const approver = await personaPage(browser, 'approver');
  await approver.goto('/changes?waiting=1');
  await expect(approver.getByRole('checkbox', { name: 'Waiting for my approval' })).toBeChecked();
  await expect(approver.getByText('Loading…')).toHaveCount(0);
  await expect(approver.locator('[data-change]', { hasText: 'slow checkout' })).toHaveCount(0);
});

test('an admin adds a webhook, sends a test event to a receiver on loopback and sees the delivery', async ({ browser }) => {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  try {
    const admin = await personaPage(browser, 'admin');
    await admin.getByRole('link', { name: 'Webhooks' }).click();
    await admin.getByLabel('Event').selectOption('promoted');
    await admin.getByLabel('Receiver URL').fill(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`);
    await admin.getByRole('button', { name: 'Add webhook' }).click();
    await expect(admin.getByTestId('webhook-secret')).toContainText('shown this once');
    const hook = admin.getByRole('list', { name: 'Webhooks' }).locator('li').first();
    await hook.getByRole('button', { name: 'Send test event' }).click();
    const delivery = hook.getByRole('table', { name: 'Deliveries' }).locator('tr[data-state="delivered"]');
    await expect(delivery).toContainText('204', { timeout: 30_000 });
    await expect(delivery).toContainText('test');
    expect(received.at(-1)?.headers['x-hotplane-event']).toBe('test');
    expect(received.at(-1)?.headers['x-hotplane-signature']).toMatch(/^sm3=[0-9a-f]{64}$/);
    await admin.screenshot({ path: 'test-results/screens/admin-webhooks.png', fullPage: true });

    await hook.getByRole('button', { name: 'Delete' }).click();
    await admin.getByRole('dialog').getByRole('button', { name: 'Delete webhook' }).click();
    await expect(admin.getByText('No webhook yet')).toBeVisible();

    const operator = await personaPage(browser, 'operator');
    await operator.goto('/webhooks');
    await expect(operator.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();
  } finally {
    receiver.close();
  }
});
