// Playwright Test against pawmock, in Debian's Chromium (no browser download).
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  // Starts pawmock (the binary in PAWMOCK_BIN, or the repository's debug build) on a free
  // port serving the test page; the tests read its address from PAWMOCK_ORIGIN.
  globalSetup: './pawmock-server.js',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: process.env.PAWMOCK_CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--no-first-run', '--disable-sync', '--disable-quic'],
    },
  },
});
