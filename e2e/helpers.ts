import { expect, type Page } from '@playwright/test';
import path from 'node:path';

export const DEMO_PASSWORD = process.env.HOTPLANE_DEMO_PASSWORD ?? 'e2e-demo-password';
export const E2E_DATA_DIR = path.resolve('tmp', 'e2e-data');
export const DEMO_ARTIFACTS = path.join(E2E_DATA_DIR, 'demo-artifacts');

// Each sign-in comes from its own address (shared address space, RFC 6598) (the console rate-limits sign-ins per client address, and
// the suite signs in far more often in a minute than one person would).
let nextAddress = 1;

export async function signIn(page: Page, role: 'admin' | 'operator' | 'approver' | 'oncall' | 'auditor') {
  await page.setExtraHTTPHeaders({ 'x-forwarded-for': `100.64.0.${nextAddress++ % 250}` });
  await page.goto('/login');
  await page.getByLabel('E-mail').fill(`${role}@hotplane.local`);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();
}
