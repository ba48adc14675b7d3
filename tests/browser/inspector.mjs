// The inspector's browser test: starts the real pawmock binary on the bundled
// recordings (no --static, so `/` is the index page), opens the inspector in Debian's
// headless Chromium through playwright-core, and checks what it shows and does:
// scenarios, Try it, the timeline filling, pausing and resuming a connection the test
// opened itself, a fault injected from the page showing in the timeline, and no console
// errors. On failure it saves a screenshot (PAWMOCK_FAILURE_SHOT, default
// target/inspector-failure.png).
//
//   PAWMOCK_BIN=target/debug/pawmock node tests/browser/inspector.mjs
//
// Run by `cargo test` through tests/browser.rs. PAWMOCK_SCREENSHOT=FILE saves
// a screenshot of the page at the end (the README's is made this way).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const bin = process.env.PAWMOCK_BIN;
const CHROMIUM = process.env.PAWMOCK_CHROMIUM || '/usr/bin/chromium';
const FAILURE_SHOT = process.env.PAWMOCK_FAILURE_SHOT || path.join(repo, 'target', 'inspector-failure.png');
const WAIT = 20_000;

// A copy of the bundled recordings, so the test can break a file and watch the page.
const recordings = fs.mkdtempSync(path.join(os.tmpdir(), 'pawmock-inspector-'));
fs.cpSync(path.join(repo, 'recordings'), recordings, { recursive: true });

let server;
let browser;
let page;
const serverLog = [];
const pageLog = [];
let passed = 0;

function check(name, ok, detail = '') {
  if (!ok) throw new Error(`${name}${detail ? `: ${detail}` : ''}`);
  passed += 1;
  console.log(`ok - ${name}`);
}

/** Starts pawmock on a free port and resolves with the port it announces. */
function startServer() {
  return new Promise((resolve, reject) => {
    server = spawn(bin, [
      '--recordings', recordings,
      '--debounce', '50ms',
      '--port', '0',
      '--log-level', 'info',
      '--journal-frames',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => reject(new Error('pawmock did not announce its URL within 30 s')), 30_000);
    const onLine = (chunk) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        serverLog.push(line);
        const m = line.match(/ws:\/\/[^ ]*:(\d+)\/ws/);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      }
    };
    server.stdout.on('data', onLine);
    server.stderr.on('data', onLine);
    server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`pawmock exited early with ${code}`)); });
    server.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

const text = (selector) => page.locator(selector).innerText();
const waitFor = (fn, arg) => page.waitForFunction(fn, arg, { timeout: WAIT });
const dots = (kind) => page.locator(`#timeline .dot[data-kind="${kind}"]`).count();

async function main() {
  if (!bin) throw new Error('set PAWMOCK_BIN to the pawmock binary (cargo test does this)');
  const port = await startServer();
  const origin = `http://localhost:${port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--headless', '--no-first-run', '--disable-sync', '--disable-quic',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  page.on('console', (m) => pageLog.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => pageLog.push(`[pageerror] ${e.message}`));
  const offsite = [];
  page.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith(`ws://localhost:${port}`)) offsite.push(r.url()); });

  // The index page links to the inspector.
  await page.goto(`${origin}/`);
  await page.locator('#inspector-link').click();
  await page.waitForURL(`${origin}/__pawmock/`);
  check('the index page links to the inspector', true);

  // Scenarios: title, markers, copyable URL; the feed is live.
  await waitFor(() => document.querySelector('#scenario-table tr[data-scenario="hello"]'));
  const hello = page.locator('#scenario-table tr[data-scenario="hello"]');
  check('a bundled scenario is listed with its title', (await hello.innerText()).includes('Friendly greeting'), await hello.innerText());
  check('with its ws:// URL', (await hello.locator('.ws-url').innerText()) === `ws://localhost:${port}/ws?scenario=hello`);
  check('no load problems are shown for the bundled recordings', await page.locator('#problems').isHidden());
  await waitFor(() => document.getElementById('feed-state').textContent === 'live');
  check('the live feed is connected', true);

  // A file that fails to load shows up live with file:line:col, and goes when fixed.
  fs.writeFileSync(path.join(recordings, 'broken.json'), '{"turns": [\n  {"when": "any", "reply": [{"say": 5}]}]}');
  await waitFor(() => !document.getElementById('problems').hidden);
  const problem = await text('#problem-list');
  check('a broken file is listed live with file:line:col', /broken\.json:2:\d+: /.test(problem), problem);
  fs.rmSync(path.join(recordings, 'broken.json'));
  await waitFor(() => document.getElementById('problems').hidden);
  check('and leaves the list when it is removed', true);

  // Try it: a scenario, chosen URL parameters, a message; the frames arrive.
  await page.locator('#tryit-scenario').selectOption('tool-call');
  await page.locator('#tryit-speed').fill('3');
  await page.locator('#tryit-params').fill('seed=7');
  const url = await text('#tryit-url');
  check('Try it shows the URL it will open', url.includes('scenario=tool-call') && url.includes('speed=3') && url.includes('seed=7'), url);
  await page.locator('#tryit-connect').click();
  await waitFor(() => !document.getElementById('tryit-message').disabled);
  await page.locator('#tryit-message').fill('Please search the web for pawmock');
  await page.locator('#tryit-send').click();
  await waitFor(() => document.querySelector('#tryit-frames li[data-type="stream_end"]'));
  const frames = await text('#tryit-frames');
  check('Try it shows the frames as they arrive', frames.includes('tool_start') && frames.includes('response_chunk'), frames);
  check('and the streamed answer', (await text('#tryit-answer')).length > 10, await text('#tryit-answer'));

  // The Try it connection is followed in Connections and its timeline fills.
  await waitFor(() => document.querySelector('#connection-table tr.selected'));
  await waitFor(() => document.querySelectorAll('#timeline .dot[data-kind="chunk"]').length >= 3);
  check('the timeline of the Try it connection fills with text chunks', true);
  check('tool frames are coloured as tools', (await dots('tool')) >= 2);
  check('the client frame is on the timeline', (await dots('client')) >= 1);
  const sentRow = page.locator('#entry-table tr[data-kind="frame_sent"]').nth(2);
  const cells = await sentRow.locator('td').allInnerTexts();
  check('a sent frame has its scheduled and actual write time', cells[3] !== '' && cells[4] !== '', cells.join(' | '));
  await sentRow.click();
  const body = await text('#entry-body');
  check('clicking a frame shows its body', body.includes('"frame_sent"') && body.includes('frame:'), body);

  // A connection opened by the test itself (another tab), streaming a long answer.
  const other = await context.newPage();
  other.on('pageerror', (e) => pageLog.push(`[other pageerror] ${e.message}`));
  await other.goto(`${origin}/`);
  await other.evaluate((wsUrl) => new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    window.received = [];
    ws.onmessage = (m) => window.received.push(JSON.parse(m.data));
    ws.onopen = () => { ws.send(JSON.stringify({ action: 'message', content: 'long markdown' })); resolve(); };
    ws.onerror = () => reject(new Error('the test socket failed'));
  }), `ws://localhost:${port}/ws?scenario=long-markdown&dialect=docs&speed=0.5&run=inspector-test`);

  await page.locator('#run-filter').fill('inspector-test');
  await waitFor(() => document.querySelectorAll('#connection-table tbody tr').length === 1);
  await page.locator('#connection-table tbody tr').first().click();
  await waitFor(() => document.querySelectorAll('#timeline .dot[data-kind="chunk"]').length >= 2);
  check('the run filter shows only the test\'s connection, and its timeline fills', true);

  // Pause: the state says so and no frame arrives while paused; resume: they flow again.
  await page.locator('#steering button[data-act="pause"]').click();
  await waitFor(() => document.querySelector('#connection-table tr.selected .conn-state')?.textContent === 'paused');
  check('pause: the connection is listed as paused', true);
  const before = await other.evaluate(() => window.received.length);
  await page.waitForTimeout(1200);
  const during = await other.evaluate(() => window.received.length);
  check('no frame arrives while paused', during === before, `${before} → ${during}`);
  await page.locator('#steering button[data-act="step"]').click();
  await other.waitForFunction((n) => window.received.length > n, during, { timeout: WAIT });
  await page.waitForTimeout(800);
  const stepped = await other.evaluate(() => window.received.length);
  check('step sends exactly the next frame', stepped === during + 1, `${during} → ${stepped}`);
  await page.locator('#steering button[data-act="resume"]').click();
  await waitFor(() => document.querySelector('#connection-table tr.selected .conn-state')?.textContent === 'playing');
  await other.waitForFunction((n) => window.received.length > n + 2, stepped, { timeout: WAIT });
  check('resume: frames flow again', true);

  // Speed: the control API takes it (a bad one is refused with its reason, on the page).
  await page.locator('#steer-speed').fill('2');
  await page.locator('#steering button[data-act="speed"]').click();
  await waitFor(() => document.getElementById('steer-result').dataset.ok === 'true');
  check('speed is set from the page', (await text('#steer-result')).startsWith('speed:'), await text('#steer-result'));
  const logBefore = pageLog.length;
  await page.locator('#steer-speed').fill('-1');
  await page.locator('#steering button[data-act="speed"]').click();
  await waitFor(() => document.getElementById('steer-result').dataset.ok === 'false');
  check('a bad speed is refused with the API\'s reason', (await text('#steer-result')).includes('refused (400)'), await text('#steer-result'));
  // Chromium logs every 4xx response as a console error: this one was asked for, and is
  // the only thing allowed in the log at this point.
  await page.waitForTimeout(200);
  const fresh = pageLog.splice(logBefore);
  check('the refused request is the only console entry it caused',
    fresh.every((l) => l.includes('status of 400 (Bad Request)')), fresh.join('\n'));

  // Send an event from the page: it reaches the test's socket at once.
  const sentBefore = await other.evaluate(() => window.received.length);
  await page.locator('#send-kind').selectOption('say');
  await page.locator('#send-text').fill('hello from the inspector');
  await page.locator('#steering button[data-act="send"]').click();
  await other.waitForFunction((n) => window.received.slice(n).map((f) => f.content ?? '').join('').includes('hello from the inspector'),
    sentBefore, { timeout: WAIT });
  check('a say event sent from the page reaches the connection', true);

  // Inject a fault from the picker: it shows in the timeline, and the socket closes.
  await page.locator('#fault-kind').selectOption('close');
  await page.locator('#fault-params input[data-param="code"]').fill('4001');
  await page.locator('#fault-params input[data-param="reason"]').fill('from the inspector');
  await page.locator('#steering button[data-act="fault"]').click();
  await waitFor(() => document.querySelector('#timeline .dot[data-kind="fault"]'));
  check('the injected fault is on the timeline', true);
  await waitFor(() => document.querySelector('#timeline .dot[data-kind="close"]'));
  const closeRow = await page.locator('#entry-table tr[data-kind="closed"]').innerText();
  check('and the close with its code', closeRow.includes('4001'), closeRow);

  const errors = pageLog.filter((l) => l.includes('[console.error]') || l.includes('pageerror') || l.includes('[console.warning]'));
  check('the page logged no console errors', errors.length === 0, errors.join('\n'));
  check('nothing was loaded from another origin', offsite.length === 0, offsite.join(', '));
  const shot = process.env.PAWMOCK_SCREENSHOT;
  if (shot) {
    await page.locator('#run-filter').fill('');
    await page.locator('#connection-table tbody tr').last().click();
    await page.waitForTimeout(300);
    await page.screenshot({ path: shot, fullPage: true });
  }
}

let failed = 0;
try {
  await main();
} catch (e) {
  failed = 1;
  console.error(`not ok - ${e.message}`);
  if (page) {
    await page.screenshot({ path: FAILURE_SHOT, fullPage: true }).then(
      () => console.error(`screenshot of the failure: ${FAILURE_SHOT}`),
      (err) => console.error(`no screenshot: ${err.message}`),
    );
  }
  console.error('--- pawmock log ---\n' + serverLog.slice(-40).join('\n'));
  console.error('--- page log ---\n' + pageLog.join('\n'));
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null) server.kill('SIGINT');
  fs.rmSync(recordings, { recursive: true, force: true });
}
console.log(`inspector browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
