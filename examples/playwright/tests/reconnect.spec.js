// A chaos test of a chat page with pawmock's control API: drop the socket in the middle
// of an answer, at the moment the test chooses, then ask pawmock's journal what the page
// did about it.
import { test, expect } from '@playwright/test';

const origin = () => process.env.PAWMOCK_ORIGIN;

/** A call to pawmock's control API; fails the test on an error answer. */
async function pawmock(request, method, route, data) {
  const res = await request.fetch(`${origin()}/__pawmock/${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    data: data === undefined ? undefined : JSON.stringify(data),
  });
  const text = await res.text();
  expect(res.ok(), `${method} /__pawmock/${route}: ${res.status()} ${text}`).toBe(true);
  return JSON.parse(text);
}

const QUESTION = 'How do I add retries with exponential backoff to a Python HTTP client?';

test('after a drop mid-answer the page reconnects and asks again', async ({ page, request }) => {
  // One run label per test: the journal summary and the connection list are per run.
  const run = `reconnect-${Date.now()}`;
  // The test page passes its query string on to /ws: this pins the long answer (about
  // 10 s of streaming) and labels the connections with the run.
  await page.goto(`${origin()}/?scenario=long-markdown&run=${run}`);
  await expect(page.locator('#conn-state')).toHaveText('connected');
  const [first] = await pawmock(request, 'GET', `connections?run=${run}`);
  expect(first.scenario).toBe('long-markdown');

  await page.locator('#message').fill(QUESTION);
  await page.locator('#send').click();

  // Mid-answer: some chunks are on screen, the answer has not ended.
  await expect.poll(() => page.evaluate(() => Number(document.body.dataset.chunks ?? 0))).toBeGreaterThan(3);
  await expect(page.locator('#chat .assistant.done')).toHaveCount(0);

  // Drop the TCP connection now, without a close frame (the browser sees 1006).
  const fault = await pawmock(request, 'POST', `connections/${first.id}/fault`, 'abort');
  expect(JSON.stringify(fault)).toContain('abort');
  await expect(page.locator('#chat .assistant.cut')).toHaveCount(1);

  // The page reconnects after its 1 s back-off and sends the question again; the new
  // connection answers it in full.
  await expect(page.locator('body')).toHaveAttribute('data-resent', 'true');
  await expect(page.locator('#chat .assistant.done')).toContainText('exponential backoff', { timeout: 30_000 });

  // What pawmock saw, from its journal.
  const summary = await pawmock(request, 'GET', `journal/summary?run=${run}`);
  expect(summary).toMatchObject({
    run,
    attempts: 2,
    connections: 2,
    reconnects: 1,
    resent_messages: [QUESTION],
    turns_completed: 1,
    turns_cancelled: 1,
    server_closes: 1,
  });
  // The page's back-off is 1 s; allow a loaded machine plenty of slack.
  expect(summary.reconnect_ms).toHaveLength(1);
  expect(summary.reconnect_ms[0]).toBeGreaterThanOrEqual(900);
  expect(summary.reconnect_ms[0]).toBeLessThan(10_000);
});
