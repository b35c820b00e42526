import { expect, test } from '@playwright/test';
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
});
