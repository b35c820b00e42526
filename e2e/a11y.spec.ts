import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Browser, type Page, type TestInfo } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { signIn } from './helpers';

// Accessibility and layout of every page each persona can reach: axe-core (WCAG 2.1 A/AA) with 0 serious or critical
// violations in light and dark mode, no horizontal overflow at 768 and 1920 px, a title, the current page marked in
// the navigation, the skip link first. The pages come from the navigation itself, so a page added to it is checked
// without touching this file; plus a module page and a change request page, reached from their lists.

const PERSONAS = ['admin', 'operator', 'approver', 'oncall', 'auditor'] as const;
type Persona = (typeof PERSONAS)[number];
const SCREENS_DIR = path.resolve('test-results', 'screens');

// A persona walks 10+ pages twice (light, dark) and twice more at two widths; on a loaded 2-core runner that is minutes.
test.describe.configure({ timeout: 420_000 });

let nextAddress = 10;
/** Each persona signs in from its own (documentation) address, so the sign-in rate limit is never the test. */
async function personaPage(browser: Browser, persona: Persona, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
  const context = await browser.newContext({ colorScheme, viewport: { width: 1280, height: 800 }, extraHTTPHeaders: { 'x-forwarded-for': `198.51.100.${nextAddress++}` } });
  const page = await context.newPage();
  await signIn(page, persona);
  return page;
}

/** The page is drawn: its heading is there and no list still says "Loading…". */
async function settled(page: Page) {
  await expect(page.getByRole('heading', { level: 1 }).first()).toBeVisible();
  await expect(page.getByText('Loading…', { exact: true })).toHaveCount(0, { timeout: 20_000 });
}

/** Every page this persona's navigation links to, then one module page and one change request page. */
async function pagesOf(page: Page): Promise<string[]> {
  const nav = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').evaluateAll((links) => links.map((a) => new URL((a as HTMLAnchorElement).href).pathname));
  const pages = [...new Set(nav)];
  await page.goto('/modules');
  await settled(page);
  const moduleLink = page.locator('main a[href^="/modules/"]').first();
  if (await moduleLink.count()) pages.push(new URL((await moduleLink.getAttribute('href'))!, page.url()).pathname);
  await page.goto('/changes');
  await settled(page);
  const requestLink = page.locator('main a[href^="/changes/"]').first();
  if (await requestLink.count()) pages.push(new URL((await requestLink.getAttribute('href'))!, page.url()).pathname);
  return pages;
}

async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}) at ${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1).join(' ').trim()}`));
}

async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

async function saveScreen(page: Page, testInfo: TestInfo, name: string) {
  mkdirSync(SCREENS_DIR, { recursive: true });
  const file = path.join(SCREENS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
}

for (const persona of PERSONAS) {
  // Dark mode once, for the admin, who sees every page: the colours are the same for every persona.
  const schemes = persona === 'admin' ? (['light', 'dark'] as const) : (['light'] as const);
  test(`${persona}: every page has 0 serious or critical axe violations${persona === 'admin' ? ' in light and dark mode' : ''}`, async ({ browser }, testInfo) => {
    const found: string[] = [];
    for (const colorScheme of schemes) {
      const page = await personaPage(browser, persona, colorScheme);
      await settled(page);
      await saveScreen(page, testInfo, colorScheme === 'light' ? persona : `${persona}-dark`);
      for (const pathname of await pagesOf(page)) {
        await page.goto(pathname);
        await settled(page);
        await expect(page, `${pathname} names itself in the title`).toHaveTitle(/^.+ · Hotplane$/);
        found.push(...(await seriousViolations(page)).map((v) => `${colorScheme} ${pathname}: ${v}`));
      }
      await page.context().close();
    }
    expect(found, found.join('\n')).toEqual([]);
  });

  test(`${persona}: no page overflows the viewport at 768 or 1920 px`, async ({ browser }) => {
    const page = await personaPage(browser, persona);
    const overflowing: string[] = [];
    for (const pathname of await pagesOf(page)) {
      for (const width of [768, 1920]) {
        await page.setViewportSize({ width, height: 900 });
        await page.goto(pathname);
        await settled(page);
        const over = await horizontalOverflow(page);
        if (over > 0) overflowing.push(`${pathname} at ${width} px: ${over} px too wide`);
      }
    }
    expect(overflowing, overflowing.join('\n')).toEqual([]);
    await page.context().close();
  });
}

test('the sign-in page has 0 serious or critical axe violations in light and dark mode', async ({ browser }) => {
  for (const colorScheme of ['light', 'dark'] as const) {
    const context = await browser.newContext({ colorScheme });
    const page = await context.newPage();
    await page.goto('/login');
    await expect(page).toHaveTitle('Sign in · Hotplane');
    const found = await seriousViolations(page);
    expect(found, found.join('\n')).toEqual([]);
    await context.close();
  }
});

test('the navigation marks the current page, the skip link comes first, and 768 px folds the navigation behind Menu', async ({ browser }) => {
  const page = await personaPage(browser, 'admin');
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const [pathname, label] of [['/changes', 'Changes'], ['/audit', 'Audit log'], ['/users', 'Users']] as const) {
    await page.goto(pathname);
    await expect(nav.getByRole('link', { name: label, exact: true })).toHaveAttribute('aria-current', 'page');
    await expect(nav.locator('[aria-current="page"]')).toHaveCount(1);
  }
  // A page under a section marks the section.
  await page.goto('/modules/ledger');
  await expect(nav.getByRole('link', { name: 'Modules', exact: true })).toHaveAttribute('aria-current', 'page');

  await page.goto('/changes');
  await page.keyboard.press('Tab');
  await expect(page.locator(':focus')).toHaveText('Skip to content');
  await page.keyboard.press('Enter');
  await expect(page.locator('main#content')).toBeFocused();

  await page.setViewportSize({ width: 768, height: 900 });
  const menu = page.getByRole('button', { name: 'Menu' });
  await expect(nav.getByRole('link', { name: 'Audit log' })).toBeHidden();
  await menu.click();
  await expect(menu).toHaveAttribute('aria-expanded', 'true');
  await nav.getByRole('link', { name: 'Audit log' }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page).toHaveTitle('Audit log · Hotplane');
  // Following a link folds the menu again.
  await expect(nav.getByRole('link', { name: 'Changes' })).toBeHidden();
  await page.context().close();
});

test('charts take the theme: in dark mode their lines, grid and axis labels use the dark palette', async ({ browser }) => {
  const page = await personaPage(browser, 'operator', 'dark');
  await page.goto('/modules/ledger');
  // Polled: pushed metrics redraw the charts, and an element replaced between finding and reading it has no style.
  const style = (selector: string, property: 'stroke' | 'fill') => () => page.locator(selector).first().evaluate((el, p) => getComputedStyle(el)[p], property).catch(() => '');
  // The first version's line (--series-1), the grid (--line) and the tick labels (--muted), each as dark sets them.
  await expect.poll(style('figure.chart .recharts-line-curve', 'stroke'), { timeout: 30_000 }).toBe('rgb(127, 176, 255)');
  await expect.poll(style('figure.chart .recharts-cartesian-grid line', 'stroke')).toBe('rgb(47, 59, 74)');
  await expect.poll(style('figure.chart .recharts-cartesian-axis-tick-value', 'fill')).toBe('rgb(159, 173, 189)');
  await page.context().close();
});

test('the theme follows the OS, a chosen theme is remembered and the first paint already has it', async ({ browser }) => {
  const page = await personaPage(browser, 'auditor', 'dark');
  const rootBackground = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  await page.goto('/audit');
  // System: the OS says dark, so dark.
  expect(await rootBackground()).toBe('rgb(14, 20, 27)');
  await page.getByLabel('Theme').selectOption('light');
  expect(await rootBackground()).toBe('rgb(245, 246, 248)');
  // The server renders the choice into the HTML itself: no script has to run before the right colours show.
  const html = await (await page.request.get('/audit')).text();
  expect(html).toMatch(/<html[^>]*data-theme="light"/);
  await page.reload();
  await expect(page.getByLabel('Theme')).toHaveValue('light');
  expect(await rootBackground()).toBe('rgb(245, 246, 248)');
  await page.getByLabel('Theme').selectOption('system');
  expect(await rootBackground()).toBe('rgb(14, 20, 27)');
  await page.context().close();
});

test('the audit page filters by a day range kept in the URL, names users and fits 1280 px', async ({ browser }) => {
  const page = await personaPage(browser, 'auditor');
  await page.goto('/audit');
  const table = page.getByRole('table', { name: 'Audit events' });
  // Demo seeding gave roles to the demo people: those events are about a user, named, not an id.
  await page.getByLabel('Action (prefix)').fill('role.granted');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/action=role.granted/);
  await expect(table).toContainText('<operator@hotplane.local>');
  expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);

  const today = await page.evaluate(() => {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  });
  await page.getByLabel('From (day)').fill(today);
  await page.getByLabel('To (day, included)').fill(today);
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(new RegExp(`from=${today}&to=${today}`));
  await expect(table.locator('tbody tr').first()).toBeVisible();
  // Times in the one console format.
  await expect(table.locator('tbody tr').first().locator('time')).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

  // The URL alone reproduces the view: a day before anything was recorded shows nothing.
  await page.goto('/audit?action=role.granted&from=2001-01-01&to=2001-01-02');
  await expect(page.getByLabel('From (day)')).toHaveValue('2001-01-01');
  await expect(table.locator('tbody tr')).toHaveCount(0);

  await page.getByLabel('From (day)').fill('2001-01-03');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByRole('alert').filter({ hasText: '"From" is after "To"' })).toBeVisible();
  await page.context().close();
});

test('giving a role asks first, naming the person, the role and what it allows; cancelling gives nothing', async ({ browser }) => {
  const page = await personaPage(browser, 'admin');
  await page.goto('/users');
  const box = page.getByLabel('auditor@hotplane.local has role oncall');
  await expect(box).not.toBeChecked();
  await box.click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('Give Demo auditor (auditor@hotplane.local) the oncall role?');
  await expect(dialog).toContainText('oncall may roll a module back');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(box).not.toBeChecked();
  await page.reload();
  await expect(page.getByLabel('auditor@hotplane.local has role oncall')).not.toBeChecked();
  await page.context().close();
});

test('a private key made on the profile page shows masked with its fingerprint until revealed', async ({ browser }) => {
  const page = await personaPage(browser, 'oncall');
  await page.goto('/profile');
  await page.getByRole('button', { name: 'Generate a key pair in this browser' }).click();
  const masked = page.getByRole('status', { name: 'Private key' });
  await expect(masked).toContainText('generated in this page, fingerprint');
  await expect(page.getByText('-----BEGIN PRIVATE KEY-----')).toHaveCount(0);
  await page.getByRole('button', { name: 'Reveal private key' }).click();
  await expect(page.getByText('-----BEGIN PRIVATE KEY-----')).toBeVisible();
  await page.getByRole('button', { name: 'Hide private key' }).click();
  await expect(page.getByText('-----BEGIN PRIVATE KEY-----')).toHaveCount(0);
  // Nothing registered: the test leaves oncall's keys as they were.
  await page.context().close();
});
