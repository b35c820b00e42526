// Runs after registry.spec.ts (files run in name order): that spec is the first to upload ledger 1.1.0 and checks its fresh report.
import { expect, test, type Browser, type CDPSession, type Page } from '@playwright/test';
import path from 'node:path';
import { DEMO_ARTIFACTS, E2E_DATA_DIR, signIn } from './helpers';

// Live data end to end: on-call through an API outage (last known state with its age, the rollback button still
// there and naming its version, recovery without a reload, the hosts' confirmation after a rollback), and the
// module page's charts fed by increments with a visible fallback when the stream is blocked.

type Role = Parameters<typeof signIn>[1];
const APPROVER_KEY = path.join(E2E_DATA_DIR, 'demo-keys', 'approver.key.pem');
let nextAddress = 60;

test.describe.configure({ mode: 'serial', timeout: 240_000 });

/** Each persona from its own (documentation) address, so the sign-in rate limit is never the test. */
async function personaPage(browser: Browser, role: Role): Promise<Page> {
  const context = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': `203.0.113.${nextAddress++}` } });
  const page = await context.newPage();
  await signIn(page, role);
  return page;
}

/** ledger 1.1.0 as a canary at 50 % that holds for ten minutes: something for on-call to roll back. */
async function ledgerCanary(browser: Browser) {
  const operator = await personaPage(browser, 'operator');
  await operator.goto('/upload');
  const so = path.join(DEMO_ARTIFACTS, 'ledger-1.1.0.so');
  await operator.getByLabel('Choose artifact files').setInputFiles([so, `${so}.manifest.json`, `${so}.manifest.sig`]);
  await operator.getByRole('button', { name: 'Upload and verify' }).click();
  await expect(operator.getByTestId('upload-outcome')).toContainText(/Accepted|Already accepted/);

  await operator.goto('/changes');
  const form = operator.getByRole('form', { name: 'Propose a change' });
  await form.getByLabel('Module').selectOption('ledger');
  await form.getByLabel('Target version').selectOption('1.1.0');
  await form.getByRole('button', { name: 'Remove step 1' }).click();
  await form.getByRole('button', { name: 'Remove step 1' }).click();
  await form.getByLabel('Hold of step 1 (s)').fill('600');
  await form.getByLabel('Hold of step 2 (s)').fill('2');
  await form.getByLabel('Analysis window (s)').fill('3');
  await form.getByLabel('Min. requests').fill('5');
  // Latency on a shared 2-core runner is noise: the canary must not roll itself back before on-call does.
  await form.getByLabel('Max. p95 × stable').fill('50');
  await form.getByLabel('p95 noise (ms)').fill('200');
  await form.getByLabel('Step deadline (s)').fill('900');
  await form.getByLabel('Ticket').fill('CHG-2026-ONCALL');
  await form.getByLabel('Reason').fill('a canary for the on-call drill');
  await form.getByRole('button', { name: 'Propose and send for approval' }).click();
  await expect(operator).toHaveURL(/\/changes\/cr-\d+/);
  const url = operator.url();

  const approver = await personaPage(browser, 'approver');
  await approver.goto(url);
  await approver.getByLabel('Load your approval private key').setInputFiles(APPROVER_KEY);
  await approver.getByRole('button', { name: 'Sign and approve' }).click();
  await expect(approver.getByTestId('change-state')).toHaveText('Approved');
  await approver.context().close();

  await operator.goto(url);
  await operator.getByRole('button', { name: 'Start rollout' }).click();
  await expect(operator.getByTestId('change-state')).toHaveText('Canary', { timeout: 60_000 });
  await operator.context().close();
}

/** Bytes received per request URL from now on, streamed bodies included (CDP sees each chunk). */
async function countBytes(page: Page) {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const urls = new Map<string, string>();
  const bytes = new Map<string, number>();
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.dataReceived', (e) => {
    const url = urls.get(e.requestId) ?? '';
    bytes.set(url, (bytes.get(url) ?? 0) + e.dataLength);
  });
  return {
    requests: () => [...urls.values()],
    bytesWhere: (match: (url: string) => boolean) => [...bytes].filter(([url]) => match(url)).reduce((sum, [, n]) => sum + n, 0),
  };
}

const trpcPath = (url: string) => new URL(url).pathname.replace('/api/trpc/', '');

test('on-call keeps the last known state through an API outage, recovers without a reload, and sees the hosts confirm a rollback', async ({ browser }) => {
  await ledgerCanary(browser);
  const oncall = await personaPage(browser, 'oncall');
  await oncall.getByRole('link', { name: 'On call' }).click();
  const row = oncall.locator('tr[data-module="ledger"]');
  await expect(row.getByTestId('weights')).toContainText('1.1.0 50%');
  await expect(row.getByTestId('p95')).toHaveText(/^\d+\.\d ms$/, { timeout: 30_000 });
  await expect(row.getByTestId('p99')).toHaveText(/^\d+\.\d ms$/);
  await expect(row.getByRole('img', { name: 'Requests per second of ledger over the last minute' })).toBeVisible();
  const button = row.getByRole('button', { name: 'Roll back ledger' });
  await expect(button).toHaveText('Roll back ledger to 1.0.0');
  await expect(row.getByTestId('rollback-warmth')).toContainText('1.0.0 still loaded (warm)');
  await expect(oncall.getByTestId('live-notice')).toHaveCount(0);

  // The API goes away mid-session: every request fails, and each stream fails when it next reconnects (streams
  // end every 30 s, docs/rollouts.md).
  await oncall.route('**/api/trpc/**', (route) => route.abort());
  const notice = oncall.getByTestId('live-notice');
  await expect(notice).toContainText(/The console does not answer — showing the state as of \d{1,2}:\d{2}:\d{2}.*, \d+ s ago/, { timeout: 90_000 });
  await expect(row.getByTestId('weights')).toContainText('1.1.0 50%');
  await expect(button).toBeVisible();
  await expect(button).toHaveText('Roll back ledger to 1.0.0');
  await expect(oncall.getByText(/Failed to fetch/)).toHaveCount(0);
  await oncall.screenshot({ path: 'test-results/screens/oncall-api-down.png', fullPage: true });

  await oncall.unroute('**/api/trpc/**');
  await expect(notice).toHaveCount(0, { timeout: 60_000 });

  await button.click();
  const dialog = oncall.getByRole('dialog');
  await dialog.getByLabel('Reason').fill('error budget burning at 03:00');
  await dialog.getByRole('button', { name: 'Roll back now' }).click();
  await expect(row.getByTestId('weights')).toHaveText(/^1\.0\.0 100%/, { timeout: 20_000 });
  await expect(row.getByTestId('rollback-confirmed')).toContainText(/Hosts confirmed 1\.0\.0 at \d{1,2}:\d{2}:\d{2}/, { timeout: 60_000 });
  await oncall.screenshot({ path: 'test-results/screens/oncall-rolled-back.png', fullPage: true });
});

test('the module page gets its charts by increments, not a re-download of the window, and says so when the stream is blocked', async ({ browser }) => {
  const operator = await personaPage(browser, 'operator');
  const traffic = await countBytes(operator);
  await operator.goto('/modules/ledger');
  await expect(operator.getByRole('figure', { name: 'Requests' })).toContainText('1.0.0', { timeout: 30_000 });

  const since = traffic.requests().length;
  await operator.waitForTimeout(10_000);
  const during = traffic.requests().slice(since).filter((url) => url.includes('/api/trpc/'));
  // An idle page: a handful of requests in ten seconds (each stream is one), none of them the window again.
  expect(during.length, during.map(trpcPath).join('\n')).toBeLessThanOrEqual(10);
  expect(during.filter((url) => /fleet\.metrics|live\.metricsWindow/.test(url))).toEqual([]);
  const window = await operator.request.get(`/api/trpc/live.metricsWindow?input=${encodeURIComponent(JSON.stringify({ module: 'ledger', seconds: 300 }))}`);
  const windowBytes = (await window.body()).length;
  const streamBytes = traffic.bytesWhere((url) => url.includes('/api/trpc/live.moduleMetrics'));
  // The stream carried the window once and then ten seconds of increments: far less than the window twice.
  test.info().annotations.push({ type: 'measured', description: `10 s idle: ${during.length} requests; metrics stream ${streamBytes} B in all vs one window ${windowBytes} B` });
  expect(streamBytes).toBeGreaterThan(0);
  expect(streamBytes).toBeLessThan(windowBytes * 2);

  // A proxy that strips the stream: the page polls instead and says so, then goes back to push.
  const blocked = await personaPage(browser, 'operator');
  await blocked.route((url) => url.pathname.startsWith('/api/trpc/live.module'), (route) => route.abort());
  await blocked.goto('/modules/ledger');
  await expect(blocked.getByTestId('live-notice')).toContainText(/Live updates paused — refreshing every \d+ s; last update \d+ s ago/, { timeout: 30_000 });
  await expect(blocked.getByRole('figure', { name: 'Requests' })).toContainText('1.0.0');
  await blocked.screenshot({ path: 'test-results/screens/module-fallback.png', fullPage: true });
  await blocked.unrouteAll();
  await expect(blocked.getByTestId('live-notice')).toHaveCount(0, { timeout: 60_000 });
});
