// The browser test: starts the real pawmock binary serving tests/browser/site with
// --static, opens the page in Debian's headless Chromium through playwright-core, and
// checks what the page renders after loading and after one chat turn.
//
//   PAWMOCK_BIN=target/debug/pawmock node tests/browser/run.mjs
//
// Run by `cargo test` through tests/browser.rs. Exits non-zero on the first failed check.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const bin = process.env.PAWMOCK_BIN;
const CHROMIUM = process.env.PAWMOCK_CHROMIUM || '/usr/bin/chromium';
const WAIT = 15_000;

let server;
let browser;
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
      '--static', path.join(here, 'site'),
      '--recordings', path.join(repo, 'tests', 'fixtures'),
      '--port', '0',
      '--log-level', 'info',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => reject(new Error('pawmock did not announce its URL within 30 s')), 30_000);
    const onLine = (chunk) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        serverLog.push(line);
        const m = line.match(/ws:\/\/localhost:(\d+)\/ws/);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      }
    };
    server.stdout.on('data', onLine);
    server.stderr.on('data', onLine);
    server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`pawmock exited early with ${code}`)); });
    server.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/**
 * With PAWMOCK_RECORD_OUT=DIR, the page is opened through `pawmock record` in front of
 * the server (every check then runs through the recorder, which writes into DIR).
 * Resolves with the recorder's port.
 */
function startRecorder(upstreamPort, out) {
  return new Promise((resolve, reject) => {
    const recorder = spawn(bin, [
      'record', '--upstream', `ws://localhost:${upstreamPort}/ws`, '--port', '0', '--out', out,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    process.on('exit', () => recorder.kill('SIGKILL'));
    const timer = setTimeout(() => reject(new Error('pawmock record did not announce its URL within 30 s')), 30_000);
    const onLine = (chunk) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        serverLog.push(`[record] ${line}`);
        const m = line.match(/pawmock record on ws:\/\/[^:]+:(\d+)\//);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      }
    };
    recorder.stdout.on('data', onLine);
    recorder.stderr.on('data', onLine);
    recorder.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

const text = (page, selector) => page.locator(selector).innerText();
const waitFor = (page, fn, arg) => page.waitForFunction(fn, arg, { timeout: WAIT });

async function main() {
  if (!bin) throw new Error('set PAWMOCK_BIN to the pawmock binary (cargo test does this)');
  const served = await startServer();
  const recordOut = process.env.PAWMOCK_RECORD_OUT;
  const port = recordOut ? await startRecorder(served, recordOut) : served;
  const origin = `http://localhost:${port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--headless', '--no-first-run', '--disable-sync', '--disable-quic',
    ],
  });
  const page = await browser.newPage();
  page.on('console', (m) => pageLog.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => pageLog.push(`[pageerror] ${e.message}`));
  const requests = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  // Every request must succeed: a 4xx/5xx or a network failure is a failed panel.
  const failedRequests = [];
  page.on('requestfailed', (r) => failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) failedRequests.push(`${r.request().method()} ${r.url()}: ${r.status()}`); });

  await page.goto(`${origin}/`);

  // Load: REST first, then the socket and its load-time actions.
  await waitFor(page, () => document.getElementById('conn-id').textContent.startsWith('websocket_'));
  const connId = await text(page, '#conn-id');
  check('connection_info carries a websocket_<uuid> id', /^websocket_[0-9a-f-]{36}$/.test(connId), connId);
  await waitFor(page, () => document.getElementById('cpu').textContent !== '—');
  check('the CPU widget is filled from the status text', (await text(page, '#cpu')) === '12.0%', await text(page, '#cpu'));
  check('the RAM widget', (await text(page, '#ram')) === '32%');
  check('the disk widget', (await text(page, '#disk')) === '20%');
  check('the battery widget', (await text(page, '#battery')) === '85%');
  await waitFor(page, () => document.getElementById('health').dataset.status !== 'unknown');
  check('the health dot is healthy', (await page.locator('#health').getAttribute('data-status')) === 'healthy');
  check('settings report a provider', (await text(page, '#provider')) === 'anthropic');
  check('the welcome wizard stays closed', await page.locator('#wizard').isHidden());
  check('the channel probe let the app start', await page.locator('#login').isHidden());
  check('backends is an array the page could filter', (await text(page, '#backends')) === '2');
  check('the version is shown', (await text(page, '#version')) === '0.4.4');
  await waitFor(page, () => document.querySelectorAll('#reminders li').length === 2);
  check('two canned reminders', (await text(page, '#reminders')).includes('Stand up and stretch'));
  check('two canned intentions', (await page.locator('#intentions li').count()) === 2);
  check('skills are listed', (await text(page, '#skills')).includes('/summarize <url or path>'));
  await waitFor(page, () => document.getElementById('toasts').textContent.includes('Legacy Mode: ON'));
  check('toggle_agent answered with the Legacy Mode toast', true);
  check('the stylesheet and script came from --static', requests.includes('/style.css') && requests.includes('/app.js'));
  const seeded = await page.locator('#sessions li[data-id="websocket_weather"]').innerText();
  check('a scenario history is listed as a session', seeded.startsWith('Weather with one tool call'), seeded);

  // One chat turn: thinking, a tool, streamed chunks, stream_end, then /api/sessions.
  await page.locator('#message').fill("What's the weather in Paris?");
  await page.locator('#send').click();
  await waitFor(page, () => document.querySelector('#chat .assistant.done'));
  const answer = page.locator('#chat .assistant.done').last();
  check('the streamed answer is rendered', (await answer.innerText()) === "It's 18°C and cloudy in Paris.", await answer.innerText());
  check('its markdown is rendered', (await answer.locator('strong').innerText()) === '18°C');
  const chunks = Number(await page.evaluate(() => document.body.dataset.chunks));
  check('the answer arrived as several message chunks appended in place', chunks > 1, `${chunks} chunk(s)`);
  const activity = await text(page, '#activity');
  check('the turn opens with the empty thinking event ("Thinking...")', activity.startsWith('Thinking...'), activity);
  check('the thinking event is shown', activity.includes('💭 The user wants the weather in Paris.'), activity);
  check('the tool start is shown', activity.includes('🔧 web_search {"query":"Paris weather"}'), activity);
  check('the tool result is shown', activity.includes('✅ web_search: Paris: 18°C, cloudy'), activity);
  check('the user bubble is shown', (await text(page, '#chat .user')) === "What's the weather in Paris?");
  await waitFor(page, (id) => document.querySelector(`#sessions li[data-id="${id}"]`), connId);
  const listed = await page.locator(`#sessions li[data-id="${connId}"]`).innerText();
  check('after stream_end the new session is listed, titled from the message',
    listed === "What's the weather in Paris? — It's **18°C** and cloudy in Paris.", listed);
  check('the new session is listed first', (await page.locator('#sessions li').first().getAttribute('data-id')) === connId);

  // A reminder added from the page shows up in its list.
  await page.locator('#reminder-text').fill('remind me in 10 minutes to stretch');
  await page.locator('#reminder-add').click();
  await waitFor(page, () => document.querySelectorAll('#reminders li').length === 3);
  const added = await page.locator('#reminders li').last().innerText();
  check('an added reminder is listed', /^stretch \((10|9)m\)$/.test(added), added);

  // The panels that used to 404 (addendum B).
  const toasts = () => text(page, '#toasts');
  await waitFor(page, () => document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 0);
  const qrSize = await page.evaluate(() => [document.getElementById('qr').naturalWidth, document.getElementById('qr').naturalHeight]);
  check('the QR image loads as a real square image', qrSize[0] >= 100 && qrSize[0] === qrSize[1], String(qrSize));
  check('Telegram starts out running', (await text(page, '#telegram-state')) === 'RUNNING');
  await page.locator('#telegram-toggle').click();
  await waitFor(page, () => document.getElementById('telegram-state').textContent === 'STOPPED');
  check('stopping Telegram is kept: the status reads STOPPED', (await toasts()).includes('Telegram stopped.'));
  await page.locator('#telegram-toggle').click();
  await waitFor(page, () => document.getElementById('telegram-state').textContent === 'RUNNING');
  check('and starting it again reads RUNNING', (await toasts()).includes('Telegram started!'));
  await page.locator('#soul').fill('# Soul\nPlayful and brief.');
  await page.locator('#identity-save').click();
  // Waits for the read-back too: reloading with a request in flight would abort it.
  await waitFor(page, () => document.body.dataset.identityReadBack === '1');
  check('the identity save succeeds', !(await toasts()).includes('Failed to save identity'));
  await page.reload();
  await waitFor(page, () => document.getElementById('soul').value.includes('Playful'));
  check('the saved identity is read back after a reload', (await page.locator('#soul').inputValue()) === '# Soul\nPlayful and brief.');
  await waitFor(page, () => document.getElementById('conn-id').textContent.startsWith('websocket_'));
  await page.locator('#health-check').click();
  await waitFor(page, () => document.getElementById('toasts').textContent.includes('Health check complete'));
  check('the health check reports HEALTHY', (await toasts()).includes('Health check complete: HEALTHY'));
  await waitFor(page, () => document.body.dataset.healthPushed);
  const pushed = await page.evaluate(() => document.body.dataset.healthPushed);
  check('and the server pushed health_update with the same check time', pushed === (await text(page, '#health-last')), pushed);

  check('no request failed', failedRequests.length === 0, failedRequests.join('\n'));
  const errors = pageLog.filter((l) => l.includes('error') || l.includes('Parse error'));
  check('the page logged no errors', errors.length === 0, errors.join('\n'));
  const shot = process.env.PAWMOCK_SCREENSHOT;
  if (shot) await page.screenshot({ path: shot, fullPage: true });
}

let failed = 0;
try {
  await main();
} catch (e) {
  failed = 1;
  console.error(`not ok - ${e.message}`);
  console.error('--- pawmock log ---\n' + serverLog.slice(-40).join('\n'));
  console.error('--- page log ---\n' + pageLog.join('\n'));
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null) server.kill('SIGINT');
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
