// Browser budgets of issue 11 on the production build, in Debian's chromium through Playwright: cold interactive
// time and JavaScript per route, the lag from a burst of requests to the module page's chart, and the requests an
// idle page makes. The console runs as `npm start` does in demo mode, on a fresh data folder.
import { chromium, type Browser, type BrowserContextOptions, type Page } from '@playwright/test';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS, coldLoad, kb, median, seconds, VIEWPORT, waitInteractive, type ReadyCheck } from './support/browser-load';
import { benchSize, benchSmoke, reportGoal } from './support/goals';
import { productionBuildState, runProductionBuild, startProductionConsole, type ProductionConsole } from './support/production-console';

const root = fileURLToPath(new URL('..', import.meta.url));
const PORT = Number(process.env.HOTPLANE_BENCH_PORT ?? 3161);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSWORD = process.env.HOTPLANE_DEMO_PASSWORD ?? 'e2e-demo-password';
const LOADS = benchSize(5, 1);
const IDLE_SECONDS = benchSize(30, 5);
const BURST = { ms: 1_000, concurrency: 32 };

const INTERACTIVE_GOAL_MS = 1_000;
const JS_GOAL_BYTES = 300 * 1024;
const CHART_LAG_GOAL_MS = 1_500;
const IDLE_GOAL_RPS = 1;

type Persona = 'operator' | 'auditor';
interface Route {
  name: string;
  path: string;
  persona: Persona;
  check?: ReadyCheck;
  /** Cold interactive time has a goal on this route. */
  interactiveGoal?: boolean;
}

const MAIN: ReadyCheck = { root: 'main' };
// The module page is interactive once its first chart is drawn too: the charts are what an SRE opens it for.
const MODULE_PAGE: ReadyCheck = { root: 'main', extra: 'figure.chart .recharts-line-curve' };

const state = productionBuildState(root);
if (state !== 'fresh' && benchSmoke) {
  if (state === 'missing') {
    console.log('browser bench skipped: no production build (.next/BUILD_ID); run `next build` first, or the full bench, which builds');
    process.exit(0);
  }
  console.log('browser bench (smoke): the production build is older than the sources; measuring it as it is');
} else if (state !== 'fresh') {
  console.log(`browser bench: the production build is ${state}; running \`next build\` first (takes minutes)`);
  runProductionBuild(root);
}
if (!existsSync(CHROMIUM)) {
  console.log(`browser bench skipped: no chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
  process.exit(0);
}

let consoleServer: ProductionConsole | null = null;
let browser: Browser | null = null;
try {
  consoleServer = await startProductionConsole(root, PORT);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  await measure(browser, consoleServer);
} finally {
  await browser?.close();
  await consoleServer?.stop();
}

async function signIn(browser: Browser, origin: string, persona: Persona): Promise<BrowserContextOptions['storageState']> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  await page.goto(`${origin}/login`);
  await page.getByLabel('E-mail').fill(`${persona}@hotplane.local`);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname !== '/login', { timeout: 30_000 });
  const session = await context.storageState();
  await context.close();
  return session;
}

async function firstChangeRequest(browser: Browser, origin: string, session: BrowserContextOptions['storageState']): Promise<string> {
  const context = await browser.newContext({ storageState: session, viewport: VIEWPORT });
  const page = await context.newPage();
  await page.goto(`${origin}/changes`);
  const link = page.locator('main a[href^="/changes/"]').first();
  await link.waitFor({ timeout: 30_000 });
  const href = (await link.getAttribute('href'))!;
  await context.close();
  return href;
}

async function measure(browser: Browser, server: ProductionConsole) {
  const { origin } = server;
  const sessions = { operator: await signIn(browser, origin, 'operator'), auditor: await signIn(browser, origin, 'auditor') };
  const requestPage = await firstChangeRequest(browser, origin, sessions.operator);
  const routes: Route[] = [
    { name: 'overview', path: '/', persona: 'operator', interactiveGoal: true },
    { name: 'modules', path: '/modules', persona: 'operator' },
    { name: 'module page', path: '/modules/ledger', persona: 'operator', check: MODULE_PAGE, interactiveGoal: true },
    { name: 'changes', path: '/changes', persona: 'operator' },
    { name: 'request page', path: requestPage, persona: 'operator' },
    { name: 'on-call', path: '/oncall', persona: 'operator' },
    { name: 'audit', path: '/audit', persona: 'auditor' },
    { name: 'upload', path: '/upload', persona: 'operator' },
  ];

  console.log(`interactive = from navigation start until <main>'s <h1> is drawn, no "Loading…" placeholder is left in it, React has hydrated it`);
  console.log('(its handlers work) and, on the module page, a line of its first chart is drawn. Cold = a new browser context (empty cache),');
  console.log(`the server warmed by one load of each route first; median of ${LOADS} load(s). JS = gzip bytes on the wire of every script`);
  console.log('fetched until interactive and then 1.5 s without a new script, lazy ones included (DevTools Network.loadingFinished');
  console.log('encodedDataLength). The machine is shared: read the interactive times beside the /login baseline of this run.');

  // Baseline: the sign-in page, the smallest page of this build (the framework, the root layout and one form).
  const baselineCheck: ReadyCheck = { root: '.login-card' };
  const baselineLoads = [];
  for (let i = 0; i < LOADS + 1; i++) baselineLoads.push(await coldLoad(browser, undefined, `${origin}/login`, baselineCheck));
  const baseline = { interactiveMs: median(baselineLoads.slice(1).map((l) => l.interactiveMs)), jsBytes: baselineLoads[1].jsBytes };

  console.log(`\n${'route'.padEnd(14)} ${'path'.padEnd(44)} ${'JS (gzip)'.padStart(10)} ${'scripts'.padStart(8)} ${'interactive'.padStart(12)}`);
  console.log(`${'(baseline)'.padEnd(14)} ${'/login'.padEnd(44)} ${kb(baseline.jsBytes).padStart(10)} ${String(baselineLoads[1].scripts).padStart(8)} ${seconds(baseline.interactiveMs).padStart(12)}`);
  const results: { route: Route; jsBytes: number; interactiveMs: number }[] = [];
  for (const route of routes) {
    const check = route.check ?? MAIN;
    const url = `${origin}${route.path}`;
    await coldLoad(browser, sessions[route.persona], url, check); // warms the server's code for this route
    const loads = [];
    for (let i = 0; i < LOADS; i++) loads.push(await coldLoad(browser, sessions[route.persona], url, check));
    const result = { route, jsBytes: loads[0].jsBytes, interactiveMs: median(loads.map((l) => l.interactiveMs)) };
    results.push(result);
    console.log(`${route.name.padEnd(14)} ${route.path.padEnd(44)} ${kb(result.jsBytes).padStart(10)} ${String(loads[0].scripts).padStart(8)} ${seconds(result.interactiveMs).padStart(12)}`);
  }
  console.log('');
  for (const { route, jsBytes, interactiveMs } of results) {
    reportGoal({ figure: `JS per route: ${route.name} (gzip, cold)`, measured: kb(jsBytes), goal: '≤ 300 KB', met: jsBytes <= JS_GOAL_BYTES, baseline: `/login ${kb(baseline.jsBytes)}` });
    if (route.interactiveGoal) {
      reportGoal({ figure: `interactive, cold: ${route.name}`, measured: seconds(interactiveMs), goal: '≤ 1.0 s', met: interactiveMs <= INTERACTIVE_GOAL_MS, baseline: `/login ${seconds(baseline.interactiveMs)}` });
    }
  }

  await chartLag(browser, server, sessions.operator);
  for (const route of [routes[2], routes[5]]) await idleRequests(browser, origin, sessions.operator, route);
}

// The Requests chart's y-axis top tick (the x-axis ticks are times, not numbers): it rises with the busiest second in the window.
async function requestsAxisTop(page: Page): Promise<number> {
  return page.evaluate(() => {
    const ticks = [...document.querySelectorAll('figure[aria-label="Requests"] .recharts-cartesian-axis-tick-value')];
    return Math.max(0, ...ticks.map((tick) => Number(tick.textContent?.replace(/,/g, '') ?? 0)).filter(Number.isFinite));
  });
}

// As many requests as the host answers in BURST.ms, then nothing: one busy second the chart has to show.
async function burst(invokeUrl: string): Promise<{ startedAt: number; endedAt: number; ok: number }> {
  const startedAt = Date.now();
  let ok = 0;
  const lane = async () => {
    while (Date.now() - startedAt < BURST.ms) {
      const response = await fetch(`${invokeUrl}/v1/invoke/ledger`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'balance demo-01' }).catch(() => null);
      await response?.arrayBuffer();
      if (response && response.status < 500) ok++;
    }
  };
  await Promise.all(Array.from({ length: BURST.concurrency }, lane));
  return { startedAt, endedAt: Date.now(), ok };
}

async function chartLag(browser: Browser, server: ProductionConsole, session: BrowserContextOptions['storageState']) {
  const context = await browser.newContext({ storageState: session, viewport: VIEWPORT });
  try {
    const page = await context.newPage();
    await page.goto(`${server.origin}/modules/ledger`);
    await waitInteractive(page, MODULE_PAGE);
    // Let the demo traffic's seconds settle into the chart, so the axis before the burst is the steady one.
    await page.waitForTimeout(benchSize(5_000, 2_000));
    const before = await requestsAxisTop(page);
    const shot = await burst(server.invokeUrl);
    const rate = (shot.ok * 1000) / Math.max(1, shot.endedAt - shot.startedAt);
    // Half the burst's rate: the chart's second may split the burst in two; the demo traffic alone stays below it.
    const threshold = rate * 0.5;
    if (threshold < before * 1.5) {
      const measured = `not measurable: burst ${rate.toFixed(0)}/s vs traffic up to ${before}/s`;
      reportGoal({ figure: 'chart lag: burst to module page chart', measured, goal: '≤ 1.5 s', met: false, baseline: 'the host answered too slowly here' });
      return;
    }
    console.log(`chart lag: ${shot.ok} requests to ledger in ${shot.endedAt - shot.startedAt} ms (${rate.toFixed(0)}/s); the Requests chart's axis top was ${before}/s, shown when ≥ ${threshold.toFixed(0)}/s`);
    const shownAt = await page
      .waitForFunction((limit) => {
        const ticks = [...document.querySelectorAll('figure[aria-label="Requests"] .recharts-cartesian-axis-tick-value')];
        return Math.max(0, ...ticks.map((tick) => Number(tick.textContent?.replace(/,/g, '') ?? 0)).filter(Number.isFinite)) >= limit && Date.now();
      }, threshold, { polling: 'raf', timeout: 30_000 })
      .then((handle) => handle.jsonValue() as Promise<number>, () => null);
    const lag = shownAt === null ? null : shownAt - shot.endedAt;
    if (shownAt !== null) console.log(`chart lag: shown ${seconds(shownAt - shot.startedAt)} after the burst's first request, ${seconds(lag!)} after its last answer`);
    reportGoal({
      figure: 'chart lag: burst to module page chart',
      measured: lag === null ? 'not shown in 30 s' : seconds(lag),
      goal: '≤ 1.5 s',
      met: lag !== null && lag <= CHART_LAG_GOAL_MS,
      baseline: 'from the burst\'s last answer',
    });
  } finally {
    await context.close();
  }
}

async function idleRequests(browser: Browser, origin: string, session: BrowserContextOptions['storageState'], route: Route) {
  const context = await browser.newContext({ storageState: session, viewport: VIEWPORT });
  try {
    const page = await context.newPage();
    await page.goto(`${origin}${route.path}`);
    await waitInteractive(page, route.check ?? MAIN);
    await page.waitForTimeout(1_000);
    let requests = 0;
    page.on('request', () => requests++);
    await page.waitForTimeout(IDLE_SECONDS * 1000);
    const perSecond = requests / IDLE_SECONDS;
    reportGoal({ figure: `idle page: ${route.name} requests/s`, measured: `${perSecond.toFixed(2)}/s`, goal: '≤ 1/s', met: perSecond <= IDLE_GOAL_RPS, baseline: `${requests} in ${IDLE_SECONDS} s` });
  } finally {
    await context.close();
  }
}
