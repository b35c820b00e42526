// What the browser bench measures in one page load: when the page became interactive and the JavaScript it
// fetched (gzip bytes on the wire, from the DevTools protocol's encoded lengths).
import type { Browser, BrowserContextOptions, Page } from '@playwright/test';

export const VIEWPORT = { width: 1280, height: 800 };

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * "Interactive": the page's <h1> is in <main> (the console pages draw it once their first data is there), no
 * "Loading…" placeholder is left in <main>, `extra` (e.g. the first chart) is drawn, and React has hydrated the
 * heading (its fiber is attached: event handlers work from then on). Answers performance.now(), i.e. milliseconds
 * since navigation start, or false.
 */
function interactiveAt({ root, extra }: { root: string; extra: string | null }): number | false {
  const main = document.querySelector(root);
  if (!main) return false;
  const heading = main.querySelector('h1');
  if (!heading || !Object.keys(heading).some((key) => key.startsWith('__reactFiber$'))) return false;
  if ([...main.querySelectorAll('p')].some((p) => p.textContent?.trim() === 'Loading…')) return false;
  if (extra && !main.querySelector(extra)) return false;
  return performance.now();
}

export interface ReadyCheck {
  /** The element holding the page's content: `main` in the console, the login card on /login. */
  root: string;
  /** A selector that must also be drawn, e.g. a chart. */
  extra?: string;
}

export async function waitInteractive(page: Page, check: ReadyCheck, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await page.waitForFunction(interactiveAt, { root: check.root, extra: check.extra ?? null }, { polling: 'raf', timeout: Math.max(1, deadline - Date.now()) });
      return Number(await handle.jsonValue());
    } catch (error) {
      // A redirect (the sign-in's, "/"'s) replaces the document the check ran in: check the new one.
      if (!/context was destroyed|navigation/i.test((error as Error).message) || Date.now() > deadline) throw error;
    }
  }
}

export interface ColdLoad {
  interactiveMs: number;
  jsBytes: number;
  scripts: number;
  /** The page's final address (after redirects). */
  url: string;
}

/** Waits until no script request has started or finished for `quietMs` (at most `capMs`). */
async function scriptsQuiet(counter: () => number, quietMs: number, capMs: number) {
  const started = Date.now();
  let last = counter();
  let lastChange = Date.now();
  while (Date.now() - started < capMs && Date.now() - lastChange < quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = counter();
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    }
  }
}

/**
 * One load with an empty browser cache (a new browser context holding only the session cookie). JavaScript is every
 * script the page fetched until it was interactive and then no script was asked for during 1.5 s.
 */
export async function coldLoad(browser: Browser, session: BrowserContextOptions['storageState'], url: string, check: ReadyCheck): Promise<ColdLoad> {
  const context = await browser.newContext({ storageState: session, viewport: VIEWPORT });
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const scriptIds = new Set<string>();
    let jsBytes = 0;
    let scriptEvents = 0;
    cdp.on('Network.requestWillBeSent', (event) => {
      if (event.type === 'Script') scriptEvents++;
    });
    cdp.on('Network.responseReceived', (event) => {
      if (event.type === 'Script') scriptIds.add(event.requestId);
    });
    cdp.on('Network.loadingFinished', (event) => {
      if (!scriptIds.has(event.requestId)) return;
      scriptEvents++;
      jsBytes += event.encodedDataLength;
    });
    await page.goto(url, { waitUntil: 'commit' });
    const interactiveMs = await waitInteractive(page, check);
    // Scripts loaded after hydration (next/dynamic) count too: the route needs them to be complete.
    await scriptsQuiet(() => scriptEvents, 1_500, 6_000);
    return { interactiveMs, jsBytes, scripts: scriptIds.size, url: page.url() };
  } finally {
    await context.close();
  }
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
export const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
