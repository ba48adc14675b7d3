// The one place that turns a story's `parameters.pawmock` into a pawmock URL.
//
//   parameters: { pawmock: { scenario: 'tool-call', speed: 0, freeze: 'after-tool' } }
//   → ws://localhost:8000/ws?dialect=dashboard&scenario=tool-call&speed=0&freeze=after-tool&run=chat--tool-call-…
//
// Every render gets a fresh `run` label, so what one story did (attempt counters of
// `reconnect-storm`, the journal) never leaks into the next one, and a test can find the
// story's connection with `GET /__pawmock/connections?run=LABEL`.

/** Where pawmock listens: `window.PAWMOCK_URL` (set by a test), then the
 * `STORYBOOK_PAWMOCK_URL` environment variable at build time, then pawmock's default. */
export function pawmockBase() {
  return globalThis.PAWMOCK_URL || import.meta.env.STORYBOOK_PAWMOCK_URL || 'ws://localhost:8000/ws';
}

/** Parameter names of `parameters.pawmock` and the URL parameters they become. */
const URL_NAMES = {
  scenario: 'scenario',
  chaos: 'chaos',
  speed: 'speed',
  freeze: 'freeze',
  seed: 'seed',
  resumeSession: 'resume_session',
  fault: 'fault',
};

/** Builds the WebSocket URL of one story render. `options` is `parameters.pawmock`. */
export function pawmockUrl(options, run, base = pawmockBase()) {
  const url = new URL(base);
  url.searchParams.set('dialect', options.dialect ?? 'dashboard');
  for (const [key, name] of Object.entries(URL_NAMES)) {
    const value = options[key];
    if (value === undefined || value === null) continue;
    for (const one of [].concat(value)) url.searchParams.append(name, String(one));
  }
  url.searchParams.set('run', run);
  return url.toString();
}

let renders = 0;

/** A run label unique to this render of this story. */
export function runLabel(storyId) {
  renders += 1;
  return `${storyId}-${Date.now().toString(36)}-${renders}`;
}

/** The Storybook loader: `context.loaded.pawmock` is `{ url, run }` for stories that
 * have `parameters.pawmock`. */
export const pawmockLoader = async ({ id, parameters }) => {
  if (!parameters.pawmock) return {};
  const run = runLabel(id);
  return { pawmock: { url: pawmockUrl(parameters.pawmock, run), run } };
};
