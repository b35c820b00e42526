import { expect, test } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_ARTIFACTS, signIn } from './helpers';

function artifactFiles(so: string) {
  return [so, `${so}.manifest.json`, `${so}.manifest.sig`];
}

test.describe.configure({ mode: 'serial' });

test('operator uploads the signed ledger 1.1.0 and sees its report', async ({ page }) => {
  await signIn(page, 'operator');
  await expect(page.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await page.getByRole('link', { name: 'Upload' }).click();
  await page.getByLabel('Choose artifact files').setInputFiles(artifactFiles(path.join(DEMO_ARTIFACTS, 'ledger-1.1.0.so')));
  await page.getByRole('button', { name: 'Upload and verify' }).click();
  await expect(page.getByTestId('upload-outcome')).toContainText('Accepted: ledger 1.1.0 passed every check');
  const report = page.getByRole('table', { name: 'Verification report' });
  await expect(report.locator('tr[data-check="signature"]')).toHaveAttribute('data-status', 'pass');
  await expect(report.locator('tr[data-status="fail"]')).toHaveCount(0);
  await page.screenshot({ path: 'test-results/screens/operator-upload.png', fullPage: true });

  await page.getByRole('link', { name: 'Open ledger' }).click();
  await expect(page.locator('tr[data-version="1.1.0"]')).toContainText('accepted');
});

test('a tampered .so is rejected, naming the digest mismatch', async ({ page }) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hp-tampered-'));
  const so = path.join(dir, 'ledger-1.1.0.so');
  const bytes = readFileSync(path.join(DEMO_ARTIFACTS, 'ledger-1.1.0.so'));
  bytes[bytes.length - 100] ^= 0xff;
  writeFileSync(so, bytes);
  copyFileSync(path.join(DEMO_ARTIFACTS, 'ledger-1.1.0.so.manifest.json'), `${so}.manifest.json`);
  copyFileSync(path.join(DEMO_ARTIFACTS, 'ledger-1.1.0.so.manifest.sig'), `${so}.manifest.sig`);

  await signIn(page, 'operator');
  await page.goto('/upload');
  await page.getByLabel('Choose artifact files').setInputFiles(artifactFiles(so));
  await page.getByRole('button', { name: 'Upload and verify' }).click();
  const outcome = page.getByTestId('upload-outcome');
  await expect(outcome).toContainText('Rejected');
  await expect(outcome).toContainText('SM3 digest mismatch');
  await expect(page.locator('tr[data-check="file-match"]')).toHaveAttribute('data-status', 'fail');
});

test('auditor verifies the audit chain', async ({ page }) => {
  await signIn(page, 'auditor');
  await expect(page.getByRole('link', { name: 'Upload' })).toHaveCount(0);
  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByRole('table', { name: 'Audit events' })).toContainText('artifact.rejected');
  await page.getByRole('button', { name: 'Verify chain' }).click();
  await expect(page.getByTestId('audit-verdict')).toContainText('intact');
  await page.screenshot({ path: 'test-results/screens/auditor-audit.png', fullPage: true });

  // The export is a same-origin POST from the page's form; the download still arrives as a file.
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export (JSONL + checkpoints)' }).click();
  expect((await download).suggestedFilename()).toMatch(/^hotplane-audit-.*\.json$/);
});

test('pages carry a nonce CSP that the console itself never trips', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  const response = await page.goto('/login');
  expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
  await signIn(page, 'admin');
  for (const [link, url] of [['Changes', /\/changes$/], ['Audit log', /\/audit$/], ['Users', /\/users$/]] as const) {
    await page.getByRole('link', { name: link, exact: true }).click();
    await expect(page).toHaveURL(url);
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  }
  await expect(page.getByRole('region', { name: 'Pending role grants' })).toBeVisible();
  expect(violations).toEqual([]);
});

// The demo serves risk-rules 1.0.0 from its first start; the push is its next version.
test('operator signs risk-rules with the CLI and pushes it with a personal API token', async ({ page, baseURL }) => {
  await signIn(page, 'operator');
  await page.getByRole('link', { name: 'Profile' }).click();
  await page.getByLabel('Token name').fill('release laptop');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = (await page.getByTestId('new-token').textContent())!.trim();
  expect(token).toMatch(/^hp_/);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'hp-push-'));
  const so = path.join(dir, 'risk-rules-1.1.0.so');
  copyFileSync(path.resolve('build/modules/risk-rules-1.1.0.so'), so);
  const cli = (...args: string[]) => {
    // The token by environment: the CLI refuses one on the command line, where any user of the machine reads it.
    const result = spawnSync(process.execPath, ['bin/hotplane.js', ...args], { encoding: 'utf8', env: { ...process.env, HOTPLANE_TOKEN: token } });
    return { code: result.status, out: `${result.stdout}${result.stderr}` };
  };
  expect(cli('manifest', so, '--module', 'risk-rules', '--version', '1.1.0', '--class', 'business').code).toBe(0);
  expect(cli('sign', `${so}.manifest.json`, '--key', path.join(DEMO_ARTIFACTS, '..', 'demo-keys', 'signer.key.pem')).code).toBe(0);
  const pushed = cli('push', so, '--console', baseURL!);
  expect(pushed.out).toContain('accepted: risk-rules 1.1.0 passed every check');
  expect(pushed.code).toBe(0);

  await page.getByRole('link', { name: 'Modules' }).click();
  await expect(page.getByRole('table', { name: 'Modules' })).toContainText('risk-rules');
});
