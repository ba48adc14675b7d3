// pawmock inspector: hand-written, no framework, no build step. Served by pawmock from
// the binary at /__pawmock/inspector/app.js.
//
// Data comes from one server-sent-events feed (/__pawmock/inspector/feed): the scenario
// listing (again on every reload), the live connections, and the journal's entries as
// they are recorded. Steering buttons call the control API (/__pawmock/connections/…).
'use strict';

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};

// With --admin-token, open the page as /__pawmock/#token=TOKEN: the token is kept for
// this tab and sent with every request.
const TOKEN = (() => {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) sessionStorage.setItem('pawmock-token', decodeURIComponent(m[1]));
  return sessionStorage.getItem('pawmock-token');
})();

/** Calls the control API; resolves with {ok, status, body}. */
async function api(method, path, body) {
  const headers = {};
  if (TOKEN) headers.Authorization = `Bearer ${TOKEN}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let parsed = null;
  try { parsed = await r.json(); } catch { parsed = null; }
  return { ok: r.ok, status: r.status, body: parsed };
}

// Entries kept per connection, and connections kept: the page must not grow for ever
// in a long session either.
const MAX_ENTRIES = 5000;
const MAX_CONNS = 300;

const state = {
  listing: { scenarios: [], chaos_profiles: [], problems: [] },
  connections: new Map(), // id → the registry's JSON
  entries: new Map(),     // id → journal entries of that connection, in seq order
  selected: null,
  tryit: null,            // { ws, run }
};

// ---------------------------------------------------------------- kinds and colours

/** The colour class of a journal entry: chunk, thinking, tool, error, fault, close, client, other. */
function colour(entry) {
  switch (entry.kind) {
    case 'fault_applied': return 'fault';
    case 'closed': return 'close';
    case 'client_frame': return 'client';
    case 'frame_sent': {
      const t = entry.type || '';
      if (t === 'response_chunk' || t === 'message' || t === 'chunk' || t === 'text_chunk') return 'chunk';
      if (t.includes('think')) return 'thinking';
      if (t.includes('tool')) return 'tool';
      if (t.includes('error')) return 'error';
      return 'other';
    }
    default: return 'other';
  }
}

const LEGEND = [
  ['chunk', 'text chunk'], ['thinking', 'thinking'], ['tool', 'tool'], ['error', 'error'],
  ['fault', 'fault applied'], ['close', 'close'], ['client', 'client frame'], ['other', 'other'],
];

function describe(entry) {
  switch (entry.kind) {
    case 'frame_sent': return [`sent ${entry.type}`, ''];
    case 'client_frame': return [`received ${entry.action}`, entry.message ?? entry.text ?? ''];
    case 'fault_applied': return [`fault ${entry.fault}`, `${entry.stage}${entry.trigger ? `: ${entry.trigger}` : ''}`];
    case 'turn_started': return ['turn started', `${entry.scenario} #${entry.turn} (${entry.trigger})`];
    case 'turn_ended': return ['turn ended', `${entry.scenario}, ${entry.frames} frames`];
    case 'turn_cancelled': return ['turn cancelled', `${entry.scenario}: ${entry.why}`];
    case 'closed': return ['closed', `${entry.code ?? '-'} ${entry.reason ?? ''} (by ${entry.by})`];
    case 'state': return ['state', entry.state];
    case 'command': return [`command ${entry.command}`, entry.outcome];
    case 'marker': return ['marker', entry.name];
    case 'opened': return ['opened', `${entry.dialect} ${entry.scenario ?? ''}`];
    case 'handshake': return ['handshake', entry.path_and_query];
    case 'refused': return ['refused', `${entry.status} (${entry.fault})`];
    default: return [entry.kind, ''];
  }
}

// ---------------------------------------------------------------- scenarios

function renderScenarios() {
  const { scenarios, problems, chaos_profiles: chaos } = state.listing;
  const body = $('scenario-table').tBodies[0];
  body.replaceChildren();
  for (const s of scenarios) {
    const url = `ws://${location.host}${s.path_and_query}`;
    const markers = el('td');
    for (const m of s.markers) markers.append(el('span', { class: 'marker', text: m }));
    const copy = el('button', { type: 'button', class: 'copy', text: 'copy' });
    copy.addEventListener('click', () => copyText(url, copy));
    body.append(el('tr', { 'data-scenario': s.name },
      el('td', {}, el('code', { text: s.name }), el('div', { class: 'muted', text: s.kind })),
      el('td', { text: s.title }),
      markers,
      el('td', {}, el('code', { class: 'ws-url', text: url }), ' ', copy)));
  }
  if (!scenarios.length) body.append(el('tr', {}, el('td', { colspan: 4, text: 'No scenarios: add some to the recordings directory.' })));

  $('problems').hidden = problems.length === 0;
  $('problem-list').replaceChildren(...problems.map((p) => el('li', { text: p.text })));

  // Try it's pickers keep their choice across reloads when it still exists.
  const pick = $('tryit-scenario');
  const was = pick.value;
  pick.replaceChildren(...scenarios.map((s) => el('option', { value: s.name, text: `${s.name} — ${s.title}` })));
  if (scenarios.some((s) => s.name === was)) pick.value = was;
  const chaosPick = $('tryit-chaos');
  const chaosWas = chaosPick.value;
  chaosPick.replaceChildren(el('option', { value: '', text: '(none)' }),
    ...chaos.map((c) => el('option', { value: c.name, text: c.name })));
  chaosPick.value = chaos.some((c) => c.name === chaosWas) ? chaosWas : '';
  updateTryitUrl();
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'copied';
  } catch {
    // Clipboard access needs a secure context or permission: select the text instead.
    const range = document.createRange();
    range.selectNodeContents(button.previousSibling.previousSibling ?? button);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    button.textContent = 'selected';
  }
  setTimeout(() => { button.textContent = 'copy'; }, 1500);
}

// ---------------------------------------------------------------- connections

function renderConnections() {
  const filter = $('run-filter').value.trim();
  const body = $('connection-table').tBodies[0];
  body.replaceChildren();
  let shown = 0;
  for (const c of [...state.connections.values()].reverse()) {
    if (filter && !(c.run ?? '').includes(filter)) continue;
    shown += 1;
    const row = el('tr', { class: `selectable${c.id === state.selected ? ' selected' : ''}`, 'data-conn': c.id },
      el('td', {}, el('code', { text: c.id })),
      el('td', { text: c.run ?? '' }),
      el('td', { text: c.scenario ?? '' }),
      el('td', { text: c.dialect }),
      el('td', { class: 'conn-state', text: c.state }),
      el('td', { text: String(c.frames_sent) }),
      el('td', { class: 'muted', text: (c.opened_at ?? '').replace('T', ' ').replace(/\..*$/, '') }));
    row.addEventListener('click', () => select(c.id));
    body.append(row);
  }
  $('no-connections').hidden = shown > 0;
  if (state.selected) {
    const c = state.connections.get(state.selected);
    $('timeline-conn').textContent = c ? `${c.id} · ${c.scenario ?? 'no scenario'} · ${c.state}` : `${state.selected} (closed)`;
    $('steering').hidden = !c;
  }
}

function select(id) {
  state.selected = id;
  $('entry-body').hidden = true;
  $('steer-result').textContent = '';
  renderConnections();
  renderTimeline();
}

// ---------------------------------------------------------------- timeline

function addEntries(entries) {
  let touchedSelected = false;
  for (const e of entries) {
    if (!e.conn) continue;
    let list = state.entries.get(e.conn);
    if (!list) {
      list = [];
      state.entries.set(e.conn, list);
      if (state.entries.size > MAX_CONNS) {
        const oldest = state.entries.keys().next().value;
        if (oldest !== state.selected) state.entries.delete(oldest);
      }
    }
    list.push(e);
    if (list.length > MAX_ENTRIES) list.splice(0, list.length - MAX_ENTRIES);
    if (e.conn === state.selected) touchedSelected = true;
  }
  if (touchedSelected) renderTimeline();
}

const LANES = [['received', 'client'], ['sent', 'sent'], ['events', 'events']];
const lane = (e) => (e.kind === 'client_frame' ? 0 : e.kind === 'frame_sent' ? 1 : 2);

function renderTimeline() {
  const line = $('timeline');
  const table = $('entry-table').tBodies[0];
  line.replaceChildren();
  table.replaceChildren();
  const entries = state.entries.get(state.selected) ?? [];
  if (!state.selected) return;
  const t0 = entries.length ? entries[0].t_ms : 0;
  const span = Math.max(1000, ...entries.map((e) => e.t_ms - t0));
  const width = Math.max(line.clientWidth - 60, 300);
  const scale = width / span;
  const x = (t) => 56 + (t - t0) * scale;
  LANES.forEach(([name], i) => line.append(el('div', { class: 'lane', style: `top:${6 + i * 26}px`, text: name })));
  const step = niceStep(span);
  for (let t = 0; t <= span; t += step) {
    line.append(el('div', { class: 'tick', style: `left:${x(t0 + t)}px`, text: `${Math.round(t)} ms` }));
  }
  for (const e of entries) {
    const k = colour(e);
    const top = 6 + lane(e) * 26;
    // A frame's scheduled time is relative to its turn: find where that turn started.
    if (e.kind === 'frame_sent' && e.scheduled_ms != null && e.actual_ms != null) {
      const late = e.actual_ms - e.scheduled_ms;
      if (late * scale >= 2) {
        line.append(el('div', { class: 'sched', style: `left:${x(e.t_ms - late)}px;width:${late * scale}px;top:${top + 16}px` }));
      }
    }
    const dot = el('button', {
      type: 'button', class: `dot k-${k}`, style: `left:${x(e.t_ms)}px;top:${top}px`,
      title: `${describe(e).join(': ')} @ ${Math.round(e.t_ms - t0)} ms`, 'data-kind': k, 'data-seq': String(e.seq),
    });
    dot.addEventListener('click', () => showEntry(e));
    line.append(dot);
    const [what, detail] = describe(e);
    const late = e.scheduled_ms != null && e.actual_ms != null ? (e.actual_ms - e.scheduled_ms).toFixed(1) : '';
    const row = el('tr', { class: 'selectable', 'data-kind': e.kind },
      el('td', { text: (e.t_ms - t0).toFixed(1) }),
      el('td', {}, el('i', { class: `k-${k}`, style: 'display:inline-block;width:8px;height:8px;margin-right:4px' }), what),
      el('td', { text: detail }),
      el('td', { text: e.scheduled_ms != null ? e.scheduled_ms.toFixed(1) : '' }),
      el('td', { text: e.actual_ms != null ? e.actual_ms.toFixed(1) : '' }),
      el('td', { text: late }));
    row.addEventListener('click', () => showEntry(e));
    table.append(row);
  }
}

function niceStep(span) {
  const raw = span / 8;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw;
}

function showEntry(e) {
  const pre = $('entry-body');
  pre.hidden = false;
  let text = JSON.stringify(e, null, 2);
  if (e.body) {
    try { text += `\n\nframe:\n${JSON.stringify(JSON.parse(e.body), null, 2)}`; } catch { text += `\n\nframe:\n${e.body}`; }
  } else if (e.kind === 'frame_sent') {
    text += '\n\n(frame bodies are kept when pawmock runs with --journal-frames)';
  }
  pre.textContent = text;
}

// ---------------------------------------------------------------- steering

// Fault kinds and their parameters, as in the README's table (the `fault=` syntax).
const FAULTS = {
  close: ['code=1011', 'reason='], abort: [], error: ['message=injected error', 'end_turn=false'],
  stall: ['duration='], latency: ['delay=2s'], drop: ['events=text_chunk'], duplicate: ['events=text_chunk'],
  corrupt: ['events=text_chunk'], fragment: ['pieces=3'], slice: ['pieces=3', 'interval=100ms'], reorder: [],
};

function renderFaultParams() {
  const kind = $('fault-kind').value;
  $('fault-params').replaceChildren(...FAULTS[kind].map((p) => {
    const [key, value] = p.split('=');
    return el('label', {}, `${key} `, el('input', { 'data-param': key, value, size: 10 }));
  }));
}

function faultText() {
  const parts = [$('fault-kind').value];
  for (const input of $('fault-params').querySelectorAll('input')) {
    if (input.value.trim() !== '') parts.push(`${input.dataset.param}=${input.value.trim()}`);
  }
  return parts.join(':');
}

function sendBody() {
  const kind = $('send-kind').value;
  const text = $('send-text').value;
  switch (kind) {
    case 'raw': return { raw: text };
    case 'inbox': return { inbox: { channel: 'inspector', message: text } };
    default: return { [kind]: text };
  }
}

async function steer(act) {
  const id = state.selected;
  if (!id) return;
  let body;
  if (act === 'speed') body = { speed: Number($('steer-speed').value) };
  if (act === 'fault') body = faultText(); // the ?fault= syntax, as a JSON string
  if (act === 'send') body = sendBody();
  if (act === 'close') body = { code: Number($('close-code').value), reason: $('close-reason').value };
  const out = $('steer-result');
  out.textContent = `${act}…`;
  delete out.dataset.ok;
  const r = await api('POST', `/__pawmock/connections/${encodeURIComponent(id)}/${act}`, body);
  out.textContent = r.ok
    ? `${act}: ${JSON.stringify(r.body)}`
    : `${act} refused (${r.status}): ${r.body?.error ?? ''}${r.body?.hint ? ` — ${r.body.hint}` : ''}`;
  out.dataset.ok = String(r.ok);
}

// ---------------------------------------------------------------- try it

function tryitQuery() {
  const q = new URLSearchParams();
  q.set('scenario', $('tryit-scenario').value);
  q.set('dialect', $('tryit-dialect').value);
  const speed = $('tryit-speed').value;
  if (speed !== '' && speed !== '1') q.set('speed', speed);
  if ($('tryit-chaos').value) q.set('chaos', $('tryit-chaos').value);
  let query = q.toString().replace(/%2F/gi, '/');
  const more = $('tryit-params').value.trim().replace(/^[?&]+/, '');
  if (more) query += `&${more}`;
  return query;
}

function updateTryitUrl() {
  $('tryit-url').textContent = `ws://${location.host}/ws?${tryitQuery()}`;
}

function tryitConnect(ev) {
  ev.preventDefault();
  tryitDisconnect();
  const run = `tryit-${Math.random().toString(36).slice(2, 8)}`;
  const url = `ws://${location.host}/ws?${tryitQuery()}&run=${run}`;
  const ws = new WebSocket(url);
  state.tryit = { ws, run, dialect: $('tryit-dialect').value };
  $('tryit-frames').replaceChildren();
  $('tryit-answer').textContent = '';
  const started = performance.now();
  ws.addEventListener('open', () => {
    $('tryit-message').disabled = false;
    $('tryit-send').disabled = false;
    $('tryit-disconnect').disabled = false;
    $('tryit-message').focus();
    logFrame(started, 'open', url);
  });
  ws.addEventListener('message', (m) => {
    let frame;
    try { frame = JSON.parse(m.data); } catch { logFrame(started, 'not JSON', String(m.data).slice(0, 200)); return; }
    const content = frame.content ?? frame.message ?? frame.tool ?? frame.name ?? '';
    logFrame(started, frame.type ?? '?', typeof content === 'string' ? content : JSON.stringify(content));
    if ((frame.type === 'response_chunk' || (frame.type === 'message' && frame.is_stream_chunk)) && typeof frame.content === 'string') {
      $('tryit-answer').textContent += frame.content;
    }
  });
  ws.addEventListener('close', (c) => {
    logFrame(started, 'close', `${c.code} ${c.reason}`);
    $('tryit-message').disabled = true;
    $('tryit-send').disabled = true;
    $('tryit-disconnect').disabled = true;
  });
  // The connection appears in the list with this run label: follow its timeline.
  state.followRun = run;
}

function logFrame(started, type, text) {
  const t = Math.round(performance.now() - started);
  const list = $('tryit-frames');
  list.append(el('li', { 'data-type': type }, `${t} ms `, el('b', { text: type }), ` ${text}`));
  list.scrollTop = list.scrollHeight;
}

function tryitSend(ev) {
  ev.preventDefault();
  const t = state.tryit;
  const text = $('tryit-message').value.trim();
  if (!t || t.ws.readyState !== WebSocket.OPEN || !text) return;
  const frame = t.dialect === 'dashboard' ? { action: 'chat', message: text } : { action: 'message', content: text };
  t.ws.send(JSON.stringify(frame));
  $('tryit-answer').textContent = '';
  $('tryit-message').value = '';
}

function tryitDisconnect() {
  if (state.tryit && state.tryit.ws.readyState <= WebSocket.OPEN) state.tryit.ws.close(1000, 'closed in the inspector');
}

// ---------------------------------------------------------------- the live feed

function connectFeed() {
  const q = TOKEN ? `?token=${encodeURIComponent(TOKEN)}` : '';
  const feed = new EventSource(`/__pawmock/inspector/feed${q}`);
  const pill = $('feed-state');
  feed.addEventListener('open', () => { pill.textContent = 'live'; pill.className = 'pill live'; });
  feed.addEventListener('error', () => { pill.textContent = 'reconnecting…'; pill.className = 'pill down'; });
  feed.addEventListener('scenarios', (m) => {
    state.listing = JSON.parse(m.data);
    renderScenarios();
  });
  feed.addEventListener('connections', (m) => {
    const list = JSON.parse(m.data);
    state.connections = new Map(list.map((c) => [c.id, c]));
    if (state.followRun) {
      const mine = list.find((c) => c.run === state.followRun);
      if (mine) { state.followRun = null; select(mine.id); return; }
    }
    renderConnections();
  });
  let skipped = 0;
  feed.addEventListener('journal', (m) => {
    const page = JSON.parse(m.data);
    addEntries(page.entries);
    // Under load the feed sends the latest entries of each batch only.
    skipped += page.skipped ?? 0;
    $('feed-note').textContent = skipped
      ? `${skipped} journal entries were skipped: the server wrote them faster than the feed sends them`
      : '';
  });
  feed.addEventListener('problem', (m) => {
    const p = JSON.parse(m.data);
    pill.textContent = p.error;
    pill.title = p.hint ?? '';
    pill.className = 'pill down';
    feed.close();
  });
}

// ---------------------------------------------------------------- start

function start() {
  $('legend').replaceChildren(...LEGEND.map(([k, name]) => el('span', {}, el('i', { class: `k-${k}` }), name)));
  $('fault-kind').replaceChildren(...Object.keys(FAULTS).map((k) => el('option', { value: k, text: k })));
  renderFaultParams();
  $('fault-kind').addEventListener('change', renderFaultParams);
  for (const b of document.querySelectorAll('#steering button[data-act]')) {
    b.addEventListener('click', () => steer(b.dataset.act));
  }
  $('run-filter').addEventListener('input', renderConnections);
  for (const id of ['tryit-scenario', 'tryit-dialect', 'tryit-speed', 'tryit-chaos', 'tryit-params']) {
    $(id).addEventListener('input', updateTryitUrl);
  }
  $('tryit-form').addEventListener('submit', tryitConnect);
  $('tryit-disconnect').addEventListener('click', tryitDisconnect);
  $('tryit-chat').addEventListener('submit', tryitSend);
  for (const b of document.querySelectorAll('button[data-copy-from]')) {
    b.addEventListener('click', () => copyText($(b.dataset.copyFrom).textContent, b));
  }
  window.addEventListener('resize', renderTimeline);
  connectFeed();
}

start();
