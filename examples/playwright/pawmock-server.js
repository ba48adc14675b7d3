// Playwright's global setup: starts the real pawmock binary on a free port, serving the
// repository's browser-test page (tests/browser/site) with --static and the bundled
// recordings, and stops it when the run ends.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

export default async function startPawmock() {
  const bin = path.resolve(here, process.env.PAWMOCK_BIN || path.join(repo, 'target', 'debug', 'pawmock'));
  if (!fs.existsSync(bin)) throw new Error(`no pawmock binary at ${bin}: run \`cargo build\` in the repository, or set PAWMOCK_BIN`);
  const server = spawn(bin, [
    '--static', path.join(repo, 'tests', 'browser', 'site'),
    '--recordings', path.join(repo, 'recordings'),
    '--port', '0',
    '--no-watch',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pawmock did not announce its URL within 30 s:\n${log.join('\n')}`)), 30_000);
    const onLine = (chunk) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        log.push(line);
        if (process.env.PAWMOCK_LOG === '1') console.log(`[pawmock] ${line}`);
        const m = line.match(/ws:\/\/localhost:(\d+)\/ws/);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      }
    };
    server.stdout.on('data', onLine);
    server.stderr.on('data', onLine);
    server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`pawmock exited early with ${code}:\n${log.join('\n')}`)); });
    server.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
  server.removeAllListeners('exit');
  process.env.PAWMOCK_ORIGIN = `http://localhost:${port}`;
  return async () => {
    if (server.exitCode === null) server.kill('SIGINT');
  };
}
