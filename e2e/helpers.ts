import { expect, type Page } from '@playwright/test';
import path from 'node:path';

export const DEMO_PASSWORD = process.env.HOTPLANE_DEMO_PASSWORD ?? 'e2e-demo-password';
export const E2E_DATA_DIR = path.resolve('tmp', 'e2e-data');
export const DEMO_ARTIFACTS = path.join(E2E_DATA_DIR, 'demo-artifacts');

export async function signIn(page: Page, role: 'admin' | 'operator' | 'approver' | 'oncall' | 'auditor') {
  await page.goto('/login');
  await page.getByLabel('E-mail').fill(`${role}@hotplane.local`);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();
}
