import { expect, test } from '@playwright/test';
import path from 'node:path';
import { E2E_DATA_DIR, signIn } from './helpers';

// The console's side of the runtime: an operator proposes what every host runs (an approver signs it off), everyone sees hosts, admins register
// remote ones. Uses only the seeded ledger 1.0.0, so the registry spec's uploads are unaffected.

// Sign-in is limited to 5 a minute per client address; this spec signs in from its own (documentation) address so
// its sign-ins do not use up the other specs' allowance.
test.use({ extraHTTPHeaders: { 'x-forwarded-for': '198.51.100.7' } });

test('an operator proposes a change of what ledger runs; it runs only once an approver signed it and it was started', async ({ page, browser }) => {
  await signIn(page, 'operator');
  await page.goto('/modules/ledger');
  await expect(page.getByRole('heading', { name: 'Runtime' })).toBeVisible();
  // The seed put the demo fleet live one module at a time, one generation each.
  const generation = page.getByText(/Desired generation \d+/);
  await expect(generation).toBeVisible();
  const seeded = Number((await generation.textContent())!.match(/Desired generation (\d+)/)![1]);
  const form = page.getByRole('form', { name: 'Propose the versions of ledger' });
  await form.getByRole('checkbox').first().check();
  await form.getByLabel('Weight of 1.0.0').fill('50');
  await expect(form.getByRole('status')).toHaveText('Weights add up to 50; they must add up to 100.');
  await expect(form.getByRole('button', { name: 'Propose this change' })).toBeDisabled();
  await form.getByLabel('Weight of 1.0.0').fill('100');
  await expect(form.getByRole('status')).toHaveText('Say why this change is wanted.');
  await form.getByLabel('Reason for the change').fill('serve ledger from the host process');
  // The demo start serves 1.0.0 in its own process (put live by the seed's approved change request).
  await form.getByLabel('Isolation of 1.0.0').selectOption('inproc');
  await form.getByRole('button', { name: 'Propose this change' }).click();
  await expect(page).toHaveURL(/\/changes\/cr-\d+$/);
  const url = page.url();
  await expect(page.getByRole('heading', { name: 'Settings change' })).toBeVisible();
  await expect(page.getByTestId('desired-before')).toContainText('1.0.0 100% process');
  await expect(page.getByTestId('desired-after')).toContainText('1.0.0 100% inproc');
  await expect(page.getByTestId('change-state')).toHaveText('Waiting for approval');
  await page.goto('/modules/ledger');
  await expect(page.getByText(new RegExp(`Desired generation ${seeded}\\b`))).toBeVisible();

  const approverContext = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': '198.51.100.8' } });
  const approver = await approverContext.newPage();
  await signIn(approver, 'approver');
  await approver.goto(url);
  await approver.getByLabel('Load your approval private key').setInputFiles(path.join(E2E_DATA_DIR, 'demo-keys', 'approver.key.pem'));
  await approver.getByRole('button', { name: 'Sign and approve' }).click();
  await expect(approver.getByTestId('change-state')).toHaveText('Approved');
  await approverContext.close();

  await page.goto(url);
  await page.getByRole('button', { name: 'Start rollout' }).click();
  await expect(page.getByTestId('change-state')).toHaveText('Promoted', { timeout: 30_000 });
  await page.goto('/modules/ledger');
  await expect(page.getByText(new RegExp(`Desired generation ${seeded + 1}\\b`))).toBeVisible();
  await expect(page.getByRole('list', { name: 'Health per desired version' })).toContainText('1.0.0 100%');
  await page.screenshot({ path: 'test-results/screens/operator-runtime.png', fullPage: true });

  await page.getByRole('link', { name: 'Modules' }).click();
  await expect(page.getByRole('table', { name: 'Modules' })).toContainText('1.0.0 100%');
});

test('an auditor sees hosts and the runtime but cannot change either', async ({ page }) => {
  await signIn(page, 'auditor');
  await page.getByRole('link', { name: 'Hosts' }).click();
  await expect(page.getByRole('table', { name: 'Hosts' })).toContainText('embedded');
  await expect(page.getByRole('button', { name: 'Register host' })).toHaveCount(0);
  await page.goto('/modules/ledger');
  await expect(page.getByRole('heading', { name: 'Runtime' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Propose this change' })).toHaveCount(0);
});

test('an admin registers a remote host and gets its one-time join token once', async ({ page }) => {
  await signIn(page, 'admin');
  await page.getByRole('link', { name: 'Hosts' }).click();
  await page.getByLabel('Host name').fill('edge-e2e');
  await page.getByRole('button', { name: 'Register host' }).click();
  await expect(page.getByTestId('new-host-token')).toHaveText(/^hpj_/);
  const row = page.locator('tr[data-host="edge-e2e"]');
  await expect(row).toContainText('never reported');
  page.once('dialog', (dialog) => dialog.accept());
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toContainText('revoked');
});
