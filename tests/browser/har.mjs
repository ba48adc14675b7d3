// Captures a HAR from real Chromium: a page opens a WebSocket to a running pawmock,
// sends one message and reads the reply, while a DevTools Protocol session records the
// socket's frames (Network.webSocketCreated / webSocketWillSendHandshakeRequest /
// webSocketFrameSent / webSocketFrameReceived). The frames are written as DevTools'
// own HAR export writes them: one entry per socket with `_webSocketMessages`
// (`type` send/receive, `time` in epoch seconds, `opcode`, `data`).
//
//   PAWMOCK_WS_URL=ws://127.0.0.1:PORT/ws?scenario=hello PAWMOCK_HAR_OUT=out.har node tests/browser/har.mjs
//
// Run by tests/browser.rs, which imports the HAR with `pawmock import` and replays it.
import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const url = process.env.PAWMOCK_WS_URL;
const out = process.env.PAWMOCK_HAR_OUT;
const message = process.env.PAWMOCK_MESSAGE || '{"action":"message","content":"hi"}';
const CHROMIUM = process.env.PAWMOCK_CHROMIUM || '/usr/bin/chromium';
if (!url || !out) throw new Error('set PAWMOCK_WS_URL and PAWMOCK_HAR_OUT');

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const sockets = new Map();
  const socket = (id) => {
    if (!sockets.has(id)) sockets.set(id, { url: '', wallTime: null, monotonic: null, messages: [] });
    return sockets.get(id);
  };
  cdp.on('Network.webSocketCreated', (e) => { socket(e.requestId).url = e.url; });
  cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => {
    const s = socket(e.requestId);
    s.wallTime = e.wallTime;
    s.monotonic = e.timestamp;
  });
  const frame = (type) => (e) => {
    const s = socket(e.requestId);
    // DevTools turns the monotonic frame time into wall time from the handshake's pair.
    const time = s.wallTime + (e.timestamp - s.monotonic);
    s.messages.push({ type, time, opcode: e.response.opcode, data: e.response.payloadData });
  };
  cdp.on('Network.webSocketFrameSent', frame('send'));
  cdp.on('Network.webSocketFrameReceived', frame('receive'));

  // The page comes from the server's own origin (pawmock's index page), as a frontend
  // would: Chromium refuses loopback sockets from pages of no origin.
  await page.goto(new URL('/', url.replace(/^ws/, 'http')).href);
  const received = await page.evaluate(async ({ url, message }) => {
    const ws = new WebSocket(url);
    const frames = [];
    await new Promise((resolve, reject) => {
      ws.onerror = () => reject(new Error('the WebSocket failed'));
      ws.onopen = () => ws.send(message);
      ws.onmessage = (m) => {
        frames.push(m.data);
        if (JSON.parse(m.data).type === 'stream_end') resolve();
      };
      setTimeout(() => reject(new Error('no stream_end within 15 s')), 15_000);
    });
    ws.close(1000);
    return frames;
  }, { url, message });
  // Let the last CDP events arrive.
  await new Promise((r) => setTimeout(r, 300));

  const version = browser.version();
  const entries = [...sockets.values()].map((s) => ({
    startedDateTime: new Date(s.wallTime * 1000).toISOString(),
    time: 0,
    request: { method: 'GET', url: s.url, httpVersion: 'HTTP/1.1', headers: [], queryString: [], cookies: [], headersSize: -1, bodySize: 0 },
    response: { status: 101, statusText: 'Switching Protocols', httpVersion: 'HTTP/1.1', headers: [], cookies: [], content: { size: 0, mimeType: 'x-unknown' }, redirectURL: '', headersSize: -1, bodySize: 0 },
    cache: {},
    timings: { send: 0, wait: 0, receive: 0 },
    _resourceType: 'websocket',
    _webSocketMessages: s.messages,
  }));
  const har = { log: { version: '1.2', creator: { name: 'pawmock tests/browser/har.mjs (Chromium DevTools Protocol events)', version }, pages: [], entries } };
  writeFileSync(out, JSON.stringify(har, null, 2));
  console.log(`wrote ${out}: ${entries.length} WebSocket(s), ${received.length} frames received by the page, Chromium ${version}`);
} finally {
  await browser.close().catch(() => {});
}
