import { expect, test } from '@playwright/test';
import { signIn } from './helpers';

// The console's side of the runtime: an operator sets what every host runs, everyone sees hosts, admins register
// remote ones. Uses only the seeded ledger 1.0.0, so the registry spec's uploads are unaffected.

// Sign-in is limited to 5 a minute per client address; this spec signs in from its own (documentation) address so
// its sign-ins do not use up the other specs' allowance.
test.use({ extraHTTPHeaders: { 'x-forwarded-for': '198.51.100.7' } });

test('an operator sets the versions of ledger, with the form saying early what it would refuse', async ({ page }) => {
  await signIn(page, 'operator');
  await page.goto('/modules/ledger');
  await expect(page.getByRole('heading', { name: 'Runtime' })).toBeVisible();
  const form = page.getByRole('form', { name: 'Set the versions of ledger' });
  await form.getByRole('checkbox').first().check();
  await form.getByLabel('Weight of 1.0.0').fill('50');
  await expect(form.getByRole('status')).toHaveText('Weights add up to 50; they must add up to 100.');
  await expect(form.getByRole('button', { name: 'Apply to every host' })).toBeDisabled();
  await form.getByLabel('Weight of 1.0.0').fill('100');
  // The demo start already serves 1.0.0 in its own process (generation 1); moving it into the host process is a change.
  await form.getByLabel('Isolation of 1.0.0').selectOption('inproc');
  await form.getByRole('button', { name: 'Apply to every host' }).click();
  await expect(page.getByText(/Desired generation 2 · set by operator@hotplane\.local/)).toBeVisible();
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
  await expect(page.getByRole('button', { name: 'Apply to every host' })).toHaveCount(0);
});

test('an admin registers a remote host and gets its token once', async ({ page }) => {
  await signIn(page, 'admin');
  await page.getByRole('link', { name: 'Hosts' }).click();
  await page.getByLabel('Host name').fill('edge-e2e');
  await page.getByRole('button', { name: 'Register host' }).click();
  await expect(page.getByTestId('new-host-token')).toHaveText(/^hph_/);
  const row = page.locator('tr[data-host="edge-e2e"]');
  await expect(row).toContainText('never reported');
  page.once('dialog', (dialog) => dialog.accept());
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toContainText('revoked');
});
