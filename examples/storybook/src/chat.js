// A small chat view written for this example. It speaks PocketPaw's dashboard dialect
// (see pawmock's README, "Dialects"): it sends `chat{message}` and renders
// `stream_start`, `message` chunks (markdown), `system_event` thinking / tool_start /
// tool_result, `stream_end`, `error`, `session_history` and `connection_info`, and shows
// the connection's state, reconnecting with back-off like the dashboard does.
//
// Unlike the shipped dashboard it re-sends a message whose answer was cut off by a
// dropped connection, once, after it reconnects: the behaviour pawmock's journal summary
// reports as "re-sent".
import { Marked } from 'marked';
import './chat.css';

const md = new Marked({ gfm: true, breaks: false });
// The answer is untrusted text: raw HTML in it is shown as text, never parsed.
md.use({ renderer: { html: ({ text }) => escapeHtml(text) } });

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The chat view of the story on screen; a new one closes the old one's socket, so a
 * story never keeps playing behind the next. */
let current = null;

/**
 * Creates the chat view and connects it.
 * - `url`: the pawmock WebSocket URL (from `context.loaded.pawmock.url`)
 * - `run`: the run label, shown as `data-pawmock-run` for tests
 * - `prompt`: a message sent once the socket opens (a pinned scenario answers it)
 * - `backoff`: first reconnect delay in ms, doubled per attempt, at most 10 s
 * - `maxAttempts`: reconnects in a row before giving up
 */
export function createChat({ url, run = '', prompt = '', backoff = 1000, maxAttempts = 5, title = 'PocketPaw' }) {
  if (current) current.close();

  const root = el('section', 'paw-chat');
  root.dataset.pawmockRun = run;
  root.dataset.frames = '0';
  root.dataset.reconnects = '0';
  const header = el('header', 'paw-header');
  header.append(el('span', 'paw-title', title));
  const status = el('span', 'paw-status');
  const dot = el('span', 'paw-dot');
  const statusText = el('span', 'paw-status-text', 'Connecting…');
  status.append(dot, statusText);
  header.append(status);
  const notice = el('div', 'paw-notice');
  notice.hidden = true;
  const list = el('ol', 'paw-messages');
  root.append(header, list, notice);

  const state = {
    ws: null,
    closedByUs: false,
    attempts: 0, // reconnects since the last completed answer
    reconnects: 0, // reconnects in all
    timer: null,
    turn: null, // the assistant turn being streamed
    pending: null, // { text, resent, bubble }: a message with no stream_end or error yet
    promptSent: false,
    frames: 0,
    malformed: 0,
  };

  function setStatus(kind, text) {
    root.dataset.state = kind;
    statusText.textContent = text;
  }

  function scrollToEnd() {
    list.scrollTop = list.scrollHeight;
  }

  function userBubble(text) {
    const li = el('li', 'paw-msg paw-user');
    li.append(el('div', 'paw-bubble', text));
    list.append(li);
    scrollToEnd();
    return li;
  }

  function assistantTurn() {
    if (state.turn) return state.turn;
    const li = el('li', 'paw-msg paw-assistant paw-streaming');
    const activity = el('ul', 'paw-activity');
    const body = el('div', 'paw-bubble paw-md');
    li.append(activity, body);
    list.append(li);
    state.turn = { li, activity, body, text: '', tools: new Map() };
    return state.turn;
  }

  function renderMarkdown(target, text) {
    target.innerHTML = md.parse(text);
  }

  function endTurn(how) {
    const turn = state.turn;
    state.turn = null;
    if (!turn) return;
    turn.li.classList.remove('paw-streaming');
    turn.li.classList.add(how);
    if (!turn.text && !turn.activity.childElementCount) turn.li.remove();
  }

  function errorBubble(text) {
    const li = el('li', 'paw-msg paw-error', text);
    li.setAttribute('role', 'alert');
    list.append(li);
    scrollToEnd();
  }

  function activity(kind, label, detail) {
    const turn = assistantTurn();
    const li = el('li', `paw-act paw-${kind}`);
    li.append(el('span', 'paw-act-label', label));
    if (detail) li.append(el('span', 'paw-act-detail', detail));
    turn.activity.append(li);
    scrollToEnd();
    return li;
  }

  const handlers = {
    connection_info: () => {},
    stream_start: () => { assistantTurn(); },
    message: (d) => {
      const turn = assistantTurn();
      turn.text += d.content ?? '';
      renderMarkdown(turn.body, turn.text);
      scrollToEnd();
    },
    system_event: (d) => {
      const data = d.data || {};
      if (d.event_type === 'thinking') {
        activity('thinking', 'Thinking', data.content || '');
      } else if (d.event_type === 'tool_start') {
        const item = activity('tool paw-running', data.name, JSON.stringify(data.params ?? {}));
        assistantTurn().tools.set(data.name, item);
      } else if (d.event_type === 'tool_result') {
        const item = assistantTurn().tools.get(data.name) || activity('tool', data.name, '');
        item.classList.remove('paw-running');
        item.classList.add(data.status === 'error' ? 'paw-failed' : 'paw-ok');
        item.append(el('pre', 'paw-act-result', String(data.result ?? '')));
        assistantTurn().tools.delete(data.name);
      }
    },
    stream_end: () => {
      endTurn('paw-done');
      state.pending = null;
      state.attempts = 0;
    },
    error: (d) => {
      endTurn('paw-cut');
      errorBubble(d.content || 'Unknown error');
      state.pending = null;
    },
    session_history: (d) => {
      // The resumed history is older than anything this view sent since it connected.
      const older = (d.messages || []).map((m) => {
        const li = el('li', `paw-msg paw-history ${m.role === 'user' ? 'paw-user' : 'paw-assistant paw-done'}`);
        const body = el('div', m.role === 'user' ? 'paw-bubble' : 'paw-bubble paw-md');
        if (m.role === 'user') body.textContent = m.content || '';
        else renderMarkdown(body, m.content || '');
        li.append(body);
        return li;
      });
      list.querySelectorAll('.paw-history').forEach((li) => li.remove());
      list.prepend(...older);
    },
  };

  function send(message) {
    state.ws.send(JSON.stringify({ action: 'chat', message }));
  }

  function connect() {
    state.timer = null;
    setStatus('connecting', state.attempts ? `Reconnecting (attempt ${state.attempts} of ${maxAttempts})…` : 'Connecting…');
    const ws = new WebSocket(url);
    state.ws = ws;
    ws.onopen = () => {
      setStatus('open', 'Connected');
      if (prompt && !state.promptSent) {
        state.promptSent = true;
        state.pending = { text: prompt, resent: false, bubble: userBubble(prompt) };
        send(prompt);
      } else if (state.pending && !state.pending.resent) {
        // The answer was cut off by the drop: ask again, once.
        state.pending.resent = true;
        state.pending.bubble.classList.add('paw-resent');
        state.pending.bubble.append(el('span', 'paw-tag', 're-sent after reconnecting'));
        send(state.pending.text);
      }
    };
    ws.onmessage = (event) => {
      state.frames += 1;
      root.dataset.frames = String(state.frames);
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        state.malformed += 1;
        notice.hidden = false;
        notice.textContent = `${state.malformed} malformed frame${state.malformed === 1 ? '' : 's'} ignored`;
        return;
      }
      const handle = handlers[data.type];
      if (handle) handle(data);
    };
    ws.onclose = (event) => {
      if (state.ws !== ws || state.closedByUs) return;
      if (state.turn) {
        endTurn('paw-cut');
        errorBubble('The connection dropped in the middle of the answer.');
      }
      const why = `${event.code}${event.reason ? ` ${event.reason}` : ''}`;
      root.dataset.lastClose = why;
      root.dataset.closeCodes = `${root.dataset.closeCodes ?? ''} ${event.code}`.trim();
      if (event.code === 4003) {
        // The dashboard's auth branch: the token is bad, reconnecting would not help.
        setStatus('unauthorized', `Unauthorized (${why}): not reconnecting`);
        return;
      }
      if (state.attempts >= maxAttempts) {
        setStatus('gave-up', `Disconnected (${why}): gave up after ${maxAttempts} attempts`);
        return;
      }
      const delay = Math.min(backoff * 2 ** state.attempts, 10_000);
      state.attempts += 1;
      state.reconnects += 1;
      root.dataset.reconnects = String(state.reconnects);
      setStatus('disconnected', `Disconnected (${why}): reconnecting in ${(delay / 1000).toFixed(1)} s`);
      state.timer = setTimeout(connect, delay);
    };
  }

  const chat = {
    element: root,
    close() {
      state.closedByUs = true;
      clearTimeout(state.timer);
      if (state.ws && state.ws.readyState <= 1) state.ws.close(1000, 'story closed');
      if (current === chat) current = null;
    },
  };
  current = chat;
  connect();
  return root;
}
