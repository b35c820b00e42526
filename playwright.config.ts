import { defineConfig } from '@playwright/test';

// E2E against the production build (`next build` runs first, see scripts/test.mjs), on a fresh data folder,
// in Debian's chromium: Playwright's own browser download is not available here.
const port = Number(process.env.E2E_PORT ?? 3100);

export default defineConfig({
  testDir: 'e2e',
  fullyParallel: false,
  workers: 1,
  timeout: 60_000,
  // A hang anywhere still ends the run with names, well inside CI's 30 minutes.
  globalTimeout: 20 * 60_000,
  expect: { timeout: 10_000 },
  // One more try for a test that failed: it is reported as flaky by name (scripts/test.mjs prints it), not hidden.
  retries: 1,
  reporter: [['list'], ['json', { outputFile: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ?? 'test-results/e2e-report.json' }]],
  outputDir: 'test-results/e2e',
  use: {
    baseURL: `http://localhost:${port}`,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  webServer: {
    command: `node scripts/e2e-server.mjs ${port}`,
    url: `http://localhost:${port}/login`,
    timeout: 180_000,
    reuseExistingServer: false,
    // SIGTERM to the server's process group, as an operator's stop would: the console drains and stops its embedded
    // host (its own process group). Playwright's default SIGKILL would leave that host running, holding the output
    // pipe Playwright waits on.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 60_000 },
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
