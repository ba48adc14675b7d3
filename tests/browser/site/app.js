// A test double of the PocketPaw dashboard's client, written from the protocol
// reference: the same URL, the same load-time actions, the same handling of the frames
// a chat turn brings, and the same REST calls at load and after every stream_end.
'use strict';

const $ = (id) => document.getElementById(id);
const state = {
  ws: null, streaming: null, chunks: 0, currentSessionId: null,
  // Reconnecting like the dashboard (websocket.js): 1 s, 2 s, 4 s, 8 s, 10 s, 5 attempts.
  attempts: 0, reconnects: 0,
  // Beyond the dashboard: a chat message whose answer never ended is re-sent once after
  // a reconnect (what examples/playwright asserts through pawmock's journal summary).
  unanswered: null, resent: false,
};

function send(action, data = {}) {
  state.ws.send(JSON.stringify({ action, ...data }));
}

// Markdown, as far as this page needs it: escape everything, then **bold** and `code`.
function markdown(text) {
  const escaped = text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  return escaped.replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>').replace(/`([^`]+)`/g, '<code>$1</code>');
}

function bubble(role, text) {
  const div = document.createElement('div');
  div.className = `bubble ${role}`;
  div.innerHTML = markdown(text);
  $('chat').appendChild(div);
  return div;
}

function list(id, items, render) {
  const ul = $(id);
  ul.replaceChildren(...items.map((item) => {
    const li = document.createElement('li');
    render(li, item);
    return li;
  }));
}

function log(id, text) {
  const li = document.createElement('li');
  li.textContent = text;
  $(id).appendChild(li);
}

function startStreaming() {
  if (state.streaming) return;
  state.streaming = { text: '', el: bubble('assistant thinking', '') };
}

function endStreaming() {
  const s = state.streaming;
  state.streaming = null;
  state.unanswered = null;
  if (s) {
    s.el.classList.remove('thinking');
    if (s.text) s.el.classList.add('done'); else s.el.remove();
  }
  loadSessions();
}

// The dashboard's parseStatus: the sidebar widgets come from regexes over the text.
function parseStatus(text) {
  const grab = (re) => (text.match(re) || [])[1];
  const show = (id, value) => { $(id).textContent = value === undefined ? '—' : `${value}%`; };
  show('cpu', grab(/CPU:\s*([\d.]+)%/));
  show('ram', grab(/RAM:.*\((\d+)%\)/));
  show('disk', grab(/Disk:.*\((\d+)%\)/));
  show('battery', grab(/Battery:\s*(\d+)%/));
}

const handlers = {
  connection_info: (d) => { $('conn-id').textContent = d.id; log('toasts', d.content); },
  status: (d) => parseStatus(d.content),
  settings: (d) => {
    const s = d.content;
    $('provider').textContent = s.llmProvider || s.claudeSdkProvider || '—';
    const configured = s.hasAnthropicKey || s.hasOpenaiKey || s.llmProvider === 'ollama';
    $('wizard').hidden = Boolean(configured);
  },
  reminders: (d) => list('reminders', d.reminders, (li, r) => { li.textContent = `${r.text} (${r.time_remaining})`; li.dataset.id = r.id; }),
  reminder_added: (d) => log('reminders', `${d.reminder.text} (${d.reminder.time_remaining})`),
  intentions: (d) => list('intentions', d.intentions, (li, i) => { li.textContent = `${i.name}${i.enabled ? '' : ' (off)'}`; }),
  skills: (d) => list('skills', d.skills, (li, s) => { li.textContent = `/${s.name} ${s.argument_hint}`.trim(); }),
  health_update: (d) => {
    $('health').dataset.status = d.data.status;
    if (d.data.last_check) document.body.dataset.healthPushed = d.data.last_check;
  },
  notification: (d) => log('toasts', d.content),
  stream_start: () => startStreaming(),
  message: (d) => {
    if (d.content.includes('System Status') || d.content.includes('🧠 CPU:')) return;
    if (d.is_stream_chunk) startStreaming();
    if (state.streaming) {
      state.streaming.text += d.content;
      state.chunks += 1;
      document.body.dataset.chunks = String(state.chunks);
      state.streaming.el.classList.remove('thinking');
      state.streaming.el.innerHTML = markdown(state.streaming.text);
    } else {
      bubble('assistant done', d.content);
    }
  },
  system_event: (d) => {
    const data = d.data;
    if (d.event_type === 'tool_start') log('activity', `🔧 ${data.name} ${JSON.stringify(data.params)}`);
    else if (d.event_type === 'tool_result') log('activity', `${data.status === 'error' ? '❌' : '✅'} ${data.name}: ${data.result}`);
    else if (d.event_type === 'thinking') log('activity', data.content ? `💭 ${data.content}` : 'Thinking...');
    else log('activity', `Unknown event: ${d.event_type}`);
  },
  stream_end: () => endStreaming(),
  error: (d) => { bubble('assistant error', `❌ ${d.content || 'Unknown error'}`); endStreaming(); },
  session_history: (d) => {
    state.currentSessionId = d.session_id;
    $('chat').replaceChildren();
    for (const m of d.messages) bubble(m.role === 'user' ? 'user' : 'assistant done', m.content || '');
  },
  new_session: (d) => { state.currentSessionId = d.id; $('chat').replaceChildren(); },
};

async function loadSessions() {
  const r = await fetch('/api/sessions?limit=100');
  if (!r.ok) return;
  const body = await r.json();
  list('sessions', body.sessions, (li, s) => {
    li.dataset.id = s.id;
    li.dataset.channel = s.channel;
    li.textContent = `${s.title || 'New Chat'} — ${s.preview}`;
  });
  document.body.dataset.sessionsTotal = String(body.total);
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // The page's own query string goes to /ws, so `/?run=LABEL&scenario=…` labels and pins
  // the socket for a test.
  const ws = new WebSocket(`${proto}//${location.host}/ws${location.search}`);
  state.ws = ws;
  ws.onopen = () => {
    $('conn-state').textContent = 'connected';
    state.attempts = 0;
    send('tool', { tool: 'status' });
    send('get_settings');
    send('get_reminders');
    send('get_intentions');
    send('get_skills');
    send('get_health');
    send('toggle_agent', { active: true });
    if (state.unanswered !== null && !state.resent) {
      state.resent = true;
      document.body.dataset.resent = 'true';
      startStreaming();
      send('chat', { message: state.unanswered });
    }
  };
  ws.onmessage = (event) => {
    try {
      const data = JSON.parse(event.data);
      const handle = handlers[data.type];
      if (handle) handle(data);
    } catch (e) {
      console.error('[WS] Parse error', e);
    }
  };
  ws.onclose = (event) => {
    $('conn-state').textContent = 'disconnected';
    if (state.streaming) {
      // The answer was cut off: keep what arrived, as an unfinished bubble.
      state.streaming.el.classList.remove('thinking');
      state.streaming.el.classList.add('cut');
      state.streaming = null;
    }
    if (event.code === 4003 || state.attempts >= 5) return; // the dashboard gives up here
    const delay = Math.min(1000 * 2 ** state.attempts, 10000);
    state.attempts += 1;
    state.reconnects += 1;
    document.body.dataset.reconnects = String(state.reconnects);
    setTimeout(connect, delay);
  };
}

$('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('message').value.trim();
  if (!text) return;
  $('message').value = '';
  bubble('user', text);
  startStreaming();
  state.unanswered = text;
  state.resent = false;
  send('chat', { message: text });
});

$('reminder-form').addEventListener('submit', (e) => {
  e.preventDefault();
  send('add_reminder', { message: $('reminder-text').value });
  $('reminder-text').value = '';
});

// The panels beyond chat, handled as the dashboard handles their replies (addendum
// B): a reply with an `error` key is a failure, anything else a success.
async function api(method, url, body) {
  const r = await fetch(url, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return { ok: r.ok, data: await r.json() };
}

async function showChannels() {
  const { data } = await api('GET', '/api/channels/status');
  $('telegram-state').textContent = data.telegram.running ? 'RUNNING' : 'STOPPED';
}

$('telegram-toggle').addEventListener('click', async () => {
  const action = $('telegram-state').textContent === 'RUNNING' ? 'stop' : 'start';
  const { data } = await api('POST', '/api/channels/toggle', { channel: 'telegram', action });
  if (data.error) log('toasts', `Error: ${data.error}`);
  else log('toasts', action === 'start' ? 'Telegram started!' : 'Telegram stopped.');
  await showChannels();
});

$('identity-save').addEventListener('click', async () => {
  const { data } = await api('PUT', '/api/identity', { soul_file: $('soul').value });
  log('toasts', data.ok ? 'Identity saved — changes apply on next message' : 'Failed to save identity');
  const { data: identity } = await api('GET', '/api/identity');
  $('soul').value = identity.soul_file;
  document.body.dataset.identityReadBack = '1';
});

$('health-check').addEventListener('click', async () => {
  const { ok, data } = await api('POST', '/api/health/check');
  if (!ok) { log('toasts', 'Health check failed — server may be restarting'); return; }
  log('toasts', `Health check complete: ${data.status.toUpperCase()}`);
  $('health-last').textContent = data.last_check;
});

async function start() {
  // Like the dashboard: without a 2xx here the app never starts.
  const probe = await fetch('/api/channels/status');
  if (!probe.ok) { $('login').hidden = false; return; }
  const [backends, version] = await Promise.all([
    fetch('/api/backends').then((r) => r.json()),
    fetch('/api/version').then((r) => r.json()),
    fetch('/api/identity').then((r) => r.json()),
    loadSessions(),
  ]);
  $('backends').textContent = String(backends.filter((b) => b.available).length);
  $('version').textContent = version.current;
  $('qr').src = `/api/qr?t=${Date.now()}`;
  await showChannels();
  $('soul').value = (await api('GET', '/api/identity')).data.soul_file;
  connect();
}

start();
