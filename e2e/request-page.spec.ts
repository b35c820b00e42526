import { expect, test, type Browser, type Page } from '@playwright/test';
import path from 'node:path';
import { DEMO_ARTIFACTS, E2E_DATA_DIR, signIn } from './helpers';

// The request page as an operator works a live canary of ledger 1.1.0 with the demo traffic: what is above the fold,
// pause, resume, abort with a reason, promote now after a confirmation; the whole analysis history paged; a rejection
// banner; and the upload page's verifying phase and its shortcut to a proposal. Ledger ends on 1.0.0 with nothing
// running, as the specs after this one expect, and every persona's browser closed: an open request page keeps its
// live stream, and so the console, busy.

type Role = Parameters<typeof signIn>[1];
const APPROVER_KEY = path.join(E2E_DATA_DIR, 'demo-keys', 'approver.key.pem');
const FOLD = { width: 1280, height: 800 };
let nextAddress = 10;

test.describe.configure({ mode: 'serial', timeout: 240_000 });

/** Each persona signs in from its own (documentation) address, so the sign-in rate limit is never the test. */
async function personaPage(browser: Browser, role: Role): Promise<Page> {
  const context = await browser.newContext({ viewport: FOLD, extraHTTPHeaders: { 'x-forwarded-for': `198.51.100.${nextAddress++}` } });
  const page = await context.newPage();
  await signIn(page, role);
  return page;
}

/**
 * Fills the propose form (already on the page) with settings short enough for a test: two steps (50 % held
 * `firstHold` s, then 100 %), judged every half second over 3 s; latency is noise on a loaded runner, errors are not.
 */
async function fillPlan(page: Page, options: { toVersion?: string; reason: string; firstHold: number }) {
  const form = page.getByRole('form', { name: 'Propose a change' });
  if (options.toVersion) {
    await form.getByLabel('Module').selectOption('ledger');
    await form.getByLabel('Target version').selectOption(options.toVersion);
  }
  await form.getByRole('button', { name: 'Remove step 1' }).click();
  await form.getByRole('button', { name: 'Remove step 1' }).click();
  await form.getByLabel('Hold of step 1 (s)').fill(String(options.firstHold));
  await form.getByLabel('Hold of step 2 (s)').fill('1');
  await form.getByLabel('Judge every (s)').fill('0.5');
  await form.getByLabel('Analysis window (s)').fill('3');
  await form.getByLabel('Min. requests').fill('5');
  await form.getByLabel('Max. p95 × stable').fill('50');
  await form.getByLabel('p95 noise (ms)').fill('200');
  await form.getByLabel('Step deadline (s)').fill(String(options.firstHold + 120));
  await form.getByLabel('Rollback window (s)').fill('5');
  await form.getByLabel('Ticket').fill('CHG-2026-11-RP');
  await form.getByLabel('Reason').fill(options.reason);
  await form.getByRole('button', { name: 'Propose and send for approval' }).click();
  await expect(page).toHaveURL(/\/changes\/cr-\d+$/);
  await expect(page.getByTestId('change-state')).toHaveText('Waiting for approval');
  return page.url();
}

async function propose(page: Page, toVersion: string, reason: string, firstHold = 150) {
  await page.goto('/changes');
  return fillPlan(page, { toVersion, reason, firstHold });
}

async function approve(browser: Browser, url: string) {
  const approver = await personaPage(browser, 'approver');
  await approver.goto(url);
  await approver.getByLabel('Load your approval private key').setInputFiles(APPROVER_KEY);
  await expect(approver.getByRole('status', { name: 'Approval private key' })).toContainText('loaded from file approver.key.pem, fingerprint');
  await approver.getByRole('button', { name: 'Sign and approve' }).click();
  await expect(approver.getByTestId('change-state')).toHaveText('Approved');
  await approver.context().close();
}

/** Starts the rollout and waits until the hosts confirmed step 1 and its hold counts down. */
async function startCanary(operator: Page, url: string) {
  await operator.goto(url);
  await operator.getByRole('button', { name: 'Start rollout' }).click();
  await expect(operator.getByTestId('change-state')).toHaveText('Canary', { timeout: 60_000 });
  await expect(operator.getByRole('timer', { name: 'Step hold' })).toHaveAttribute('data-phase', 'holding', { timeout: 60_000 });
}

async function auditActions(browser: Browser, changeId: string) {
  const auditor = await personaPage(browser, 'auditor');
  await auditor.goto('/audit');
  await auditor.getByLabel('Target').fill(changeId);
  await auditor.getByRole('button', { name: 'Filter' }).click();
  const table = auditor.getByRole('table', { name: 'Audit events' });
  await expect(table).toContainText(changeId);
  return { table, close: () => auditor.context().close() };
}

const changeIdOf = (url: string) => /\/changes\/(cr-\d+)/.exec(url)![1];

test('upload shows a verifying phase, then its shortcut proposes that version; the approver rejects it and the page says who and why', async ({ browser }) => {
  const operator = await personaPage(browser, 'operator');
  await operator.goto('/upload');
  const so = path.join(DEMO_ARTIFACTS, 'ledger-1.1.0.so');
  await operator.getByLabel('Choose artifact files').setInputFiles([so, `${so}.manifest.json`, `${so}.manifest.sig`]);
  // An upload the console knows already is answered within milliseconds, so the phase may show for one frame only:
  // a MutationObserver in the page notes it, where polling for the element could miss it.
  await operator.evaluate(() => {
    const seen = window as unknown as { verifyingShown?: boolean };
    new MutationObserver(() => {
      if (document.querySelector('[data-testid="upload-verifying"]')) seen.verifyingShown = true;
    }).observe(document.body, { childList: true, subtree: true });
  });
  await operator.getByRole('button', { name: 'Upload and verify' }).click();
  await expect(operator.getByTestId('upload-outcome')).toContainText(/Accepted|Already accepted/);
  expect(await operator.evaluate(() => (window as unknown as { verifyingShown?: boolean }).verifyingShown), 'the Verifying… phase showed').toBe(true);
  await expect(operator.getByTestId('upload-verifying')).toHaveCount(0);

  await operator.getByRole('link', { name: 'Propose a rollout of this version' }).click();
  await expect(operator).toHaveURL(/\/changes\?module=ledger&version=1\.1\.0/);
  const form = operator.getByRole('form', { name: 'Propose a change' });
  await expect(form.getByLabel('Module')).toHaveValue('ledger');
  await expect(form.getByLabel('Target version')).toHaveValue('1.1.0');
  const url = await fillPlan(operator, { reason: 'proposed from the upload page', firstHold: 30 });

  const approver = await personaPage(browser, 'approver');
  await approver.goto(url);
  await approver.getByRole('button', { name: 'Reject' }).click();
  await approver.getByRole('dialog').getByLabel('Reason').fill('not during the year-end freeze');
  await approver.getByRole('dialog').getByRole('button', { name: 'Reject' }).click();
  await expect(approver.getByTestId('change-state')).toHaveText('Rejected');

  await operator.goto(url);
  const banner = operator.getByRole('alert', { name: 'Rejected' });
  await expect(banner).toContainText('not during the year-end freeze');
  await expect(banner).toContainText('by approver@hotplane.local');
  const box = (await banner.boundingBox())!;
  expect(box.y + box.height, 'the rejection is at the top').toBeLessThanOrEqual(FOLD.height);
  await approver.context().close();
  await operator.context().close();
});

test('an operator pauses, resumes and aborts a live canary; the step, hold, verdict, chart and buttons are above the fold; the history pages add up to its count', async ({ browser }, testInfo) => {
  const operator = await personaPage(browser, 'operator');
  const url = await propose(operator, '1.1.0', 'request page: pause, resume, abort');
  const id = changeIdOf(url);
  await approve(browser, url);
  await startCanary(operator, url);

  await expect(operator.getByTestId('step-of')).toHaveText('Step 1 of 2 · 50 %');
  await expect(operator.getByTestId('state-words')).toContainText('50 % of traffic on 1.1.0');
  await expect(operator.getByRole('list', { name: 'Plan progress' }).locator('li[data-status="current"]')).toContainText('50%');
  const holdLeft = operator.getByTestId('hold-left');
  const firstReading = await holdLeft.textContent();
  await expect(holdLeft, 'the countdown ticks in the page').not.toHaveText(firstReading!, { timeout: 10_000 });
  await expect(operator.getByTestId('latest-verdict')).toHaveText(/pass|inconclusive/, { timeout: 30_000 });
  const verdictTable = operator.getByRole('table', { name: 'Canary against stable' });
  await expect(verdictTable.locator('tr[data-metric="error rate"]')).toContainText('≤ 1 %');
  await expect(verdictTable.locator('tr[data-metric="p95"]')).toContainText('ms');
  const errorChart = operator.getByRole('figure', { name: 'Error rate: canary vs stable' });
  const p95Chart = operator.getByRole('figure', { name: 'p95 latency: canary vs stable' });
  await expect(errorChart.locator('.recharts-line')).toHaveCount(2, { timeout: 20_000 });
  await expect(p95Chart.locator('.recharts-line').first()).toBeVisible();
  await expect(errorChart).toContainText('limit');

  await operator.evaluate(() => window.scrollTo(0, 0));
  const aboveTheFold = {
    'step bar': operator.getByRole('list', { name: 'Plan progress' }),
    'hold countdown': operator.getByRole('timer', { name: 'Step hold' }),
    verdict: operator.getByRole('region', { name: 'Latest verdict' }),
    'error-rate chart': errorChart,
    'p95 chart': p95Chart,
    buttons: operator.getByRole('group', { name: 'Request actions' }),
  };
  for (const [what, locator] of Object.entries(aboveTheFold)) {
    const box = (await locator.boundingBox())!;
    expect(box.y + box.height, `${what} within the first ${FOLD.height} px`).toBeLessThanOrEqual(FOLD.height);
  }
  await operator.screenshot({ path: 'test-results/screens/operator-request-canary.png' });

  await operator.getByRole('button', { name: 'Pause' }).click();
  await expect(operator.getByTestId('change-state')).toHaveText('Paused');
  await expect(operator.getByRole('timer', { name: 'Step hold' })).toContainText('Paused since');
  await expect(operator.getByRole('button', { name: 'Resume' })).toBeVisible();
  await operator.getByRole('button', { name: 'Resume' }).click();
  await expect(operator.getByTestId('change-state')).toHaveText('Canary');
  await expect(operator.getByRole('timer', { name: 'Step hold' })).toHaveAttribute('data-phase', 'holding');

  // More judgements than one page holds, so the history has to be paged.
  const count = operator.getByTestId('decision-count');
  await expect.poll(async () => Number(await count.getAttribute('data-count')), { timeout: 120_000 }).toBeGreaterThan(45);

  await operator.getByRole('button', { name: 'Abort (roll back)' }).click();
  const dialog = operator.getByRole('dialog', { name: 'Abort the rollout' });
  await dialog.getByLabel('Reason').fill('request page e2e: abort on purpose');
  await dialog.getByRole('button', { name: 'Abort and roll back' }).click();
  await expect(operator.getByTestId('change-state')).toHaveText('Aborted', { timeout: 30_000 });
  await expect(operator.getByRole('status', { name: 'Outcome' })).toContainText('request page e2e: abort on purpose');
  await expect(operator.getByRole('timer', { name: 'Step hold' })).toHaveAttribute('data-phase', 'finished');

  // Finished: nothing is judged any more, so a fresh load counts and pages the same, final set.
  await operator.reload();
  await expect(operator.getByTestId('change-state')).toHaveText('Aborted');
  const total = Number(await count.getAttribute('data-count'));
  await expect(count).toHaveText(`Analysis history: ${total} judgements`);
  const rows = operator.getByRole('table', { name: 'Analysis decisions' }).locator('tbody tr');
  const older = operator.getByRole('navigation', { name: 'Analysis history pages' }).getByRole('button', { name: 'Older' });
  const range = operator.getByTestId('decision-range');
  let seen = 0;
  let pages = 0;
  for (;;) {
    await expect(range).toContainText(`${seen + 1}–`);
    seen += await rows.count();
    pages++;
    if (await older.isDisabled()) break;
    await older.click();
  }
  expect(pages).toBeGreaterThan(1);
  expect(seen, 'the rows paged through are every judgement the heading counts').toBe(total);
  const height = await operator.evaluate(() => document.documentElement.scrollHeight);
  testInfo.annotations.push({ type: 'request page height at 1280×800 (px)', description: String(height) });
  console.log(`request page height at 1280x800 after the rollout: ${height} px`);
  await operator.screenshot({ path: 'test-results/screens/operator-request-aborted.png', fullPage: true });

  const audit = await auditActions(browser, id);
  for (const action of ['rollout.started', 'rollout.paused', 'rollout.resumed', 'rollout.aborted']) await expect(audit.table).toContainText(action);
  await audit.close();
  await operator.context().close();
});

test('Promote now asks first, then moves all traffic; ledger goes back to 1.0.0 the same way', async ({ browser }) => {
  const operator = await personaPage(browser, 'operator');
  const url = await propose(operator, '1.1.0', 'request page: promote now');
  await approve(browser, url);
  await startCanary(operator, url);

  await operator.getByRole('button', { name: 'Promote now' }).click();
  const dialog = operator.getByRole('dialog', { name: 'Promote ledger 1.1.0 now' });
  await expect(dialog).toContainText('All traffic moves to 1.1.0 at once, skipping step 2 and its analysis');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(operator.getByTestId('change-state')).toHaveText('Canary');

  await operator.getByRole('button', { name: 'Promote now' }).click();
  await operator.getByRole('dialog', { name: 'Promote ledger 1.1.0 now' }).getByRole('button', { name: 'Promote to 100 %' }).click();
  await expect(operator.getByTestId('change-state')).toHaveText('Promoted', { timeout: 30_000 });
  await expect(operator.getByTestId('state-words')).toHaveText('Promoted: all traffic on 1.1.0');
  await expect(operator.getByRole('list', { name: 'Plan progress' }).locator('li[data-status="done"]')).toHaveCount(2);
  const audit = await auditActions(browser, changeIdOf(url));
  await expect(audit.table).toContainText('rollout.promoted');
  await audit.close();

  // Back to where the other specs expect ledger: 1.0.0 serving everything, nothing running.
  const back = await propose(operator, '1.0.0', 'request page: back to 1.0.0', 30);
  await approve(browser, back);
  await startCanary(operator, back);
  await operator.getByRole('button', { name: 'Promote now' }).click();
  await operator.getByRole('dialog', { name: 'Promote ledger 1.0.0 now' }).getByRole('button', { name: 'Promote to 100 %' }).click();
  await expect(operator.getByTestId('change-state')).toHaveText('Promoted', { timeout: 30_000 });
  await operator.context().close();
});
