// Browser-test harness: Debian's chromium driven by playwright-core, a throw-away hub per test
// file (fresh SQLite database, demo account seeded, free loopback port), and small helpers.
//
//   import { launchBrowser, startHub, newPage, login } from './harness.mjs';
//   const hub = await startHub();            // { base, staffToken, stop(), restart(), logs() }
//   const browser = await launchBrowser();
//   const page = await newPage(browser, { width: 1280, height: 800 });
//   await login(page, hub.base, 'ana@demo.switchboard.test');
//   await page.goto(hub.base + '/');
//   assert.deepEqual(consoleErrors(page), []);
//
// Env: SWITCHBOARD_BIN (default ../../target/debug/switchboard from this directory),
// CHROMIUM (optional path overriding the search for Debian's chromium).

import { execFile, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const TESTS_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(TESTS_DIR, '..', '..');
export const SCREENSHOT_DIR = join(TESTS_DIR, 'screenshots');

/** Every demo login shares this password (`switchboard demo` prints the logins). */
export const DEMO_PASSWORD = 'switchboard-demo';
export const DEMO = {
  agent: 'ana@demo.switchboard.test',
  agent2: 'sam@demo.switchboard.test',
  admin: 'admin@demo.switchboard.test',
};

// ---------------------------------------------------------------------------------------------
// Chromium

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Debian's chromium: $CHROMIUM, else /usr/bin/chromium, else `command -v chromium`. */
export function findChromium() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium'].filter(Boolean);
  for (const path of candidates) if (isExecutable(path)) return path;
  try {
    const found = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
    if (found && isExecutable(found)) return found;
  } catch {
    // not on PATH
  }
  throw new Error('chromium not found: install Debian\'s package (`apt-get install chromium`) or set CHROMIUM');
}

/** Launch headless Debian chromium (playwright-core downloads no browser of its own). */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: findChromium(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

// ---------------------------------------------------------------------------------------------
// The hub

const hubBinary = () => resolve(TESTS_DIR, process.env.SWITCHBOARD_BIN || '../../target/debug/switchboard');

/** A port nobody listens on right now (the OS picks it; freed before the hub binds it). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function tail(path, lines = 40) {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Staff session per hub base URL: the sandbox's pages and endpoints are staff tools. */
const staffTokens = new Map();

/**
 * Start the hub on a free 127.0.0.1 port with a fresh SQLite database in a temp dir, after
 * seeding the demo account (`switchboard demo`). Resolves once GET /readyz answers 200, logged
 * in as the demo agent (`staffToken`, which the sandbox helpers below use; sessions are stored,
 * so it outlives `restart()`).
 * `restart()` stops the process and starts it again on the same port and database;
 * `stop()` also deletes the temp dir. `logs()` returns the tail of the hub's output.
 */
export async function startHub({ env: extraEnv = {}, readyTimeoutMs = 30_000 } = {}) {
  const bin = hubBinary();
  if (!existsSync(bin)) throw new Error(`hub binary not found at ${bin}: run \`cargo build\` or set SWITCHBOARD_BIN`);
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-browser-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const logPath = join(dir, 'hub.log');
  const env = {
    ...process.env,
    SWITCHBOARD__DATABASE__URL: `sqlite://${dir}/db.sqlite`,
    SWITCHBOARD__SERVER__LISTEN: `127.0.0.1:${port}`,
    SWITCHBOARD__WHATSAPP__MEDIA_DIR: join(dir, 'media'),
    ...extraEnv,
  };

  await new Promise((done, fail) => {
    execFile(bin, ['demo'], { env, cwd: REPO_ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) fail(new Error(`\`${bin} demo\` failed: ${error.message}\n${stdout}${stderr}`));
      else done();
    });
  });

  let child = null;
  const start = async () => {
    const log = createWriteStream(logPath, { flags: 'a' });
    child = spawn(bin, ['serve'], { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    running.add(child);
    const exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
    child.exited = exited;
    exited.then(() => running.delete(child));
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      const state = await Promise.race([exited, sleep(100).then(() => null)]);
      if (state) {
        throw new Error(`the hub exited before it was ready (${state.signal ?? `code ${state.code}`}):\n${tail(logPath)}`);
      }
      try {
        const response = await fetch(`${base}/readyz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await kill(child);
        throw new Error(`the hub was not ready within ${readyTimeoutMs} ms:\n${tail(logPath)}`);
      }
    }
  };

  const kill = async (process_) => {
    if (!process_ || process_.exitCode !== null || process_.signalCode !== null) return;
    process_.kill('SIGTERM');
    const stopped = await Promise.race([process_.exited, sleep(5_000).then(() => null)]);
    if (!stopped) {
      process_.kill('SIGKILL');
      await process_.exited;
    }
  };

  let staffToken;
  try {
    await start();
    staffToken = await apiLogin(base, DEMO.agent);
  } catch (error) {
    await kill(child);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  staffTokens.set(base, staffToken);
  return {
    base,
    port,
    dir,
    staffToken,
    logs: (lines = 40) => tail(logPath, lines),
    async restart() {
      await kill(child);
      await start();
    },
    async stop() {
      staffTokens.delete(base);
      await kill(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Pages

const collected = new WeakMap();

/** Start recording a page's console errors and uncaught exceptions; returns the live array. */
export function collectConsoleErrors(page) {
  if (collected.has(page)) return collected.get(page);
  const errors = [];
  collected.set(page, errors);
  page.on('console', (message) => {
    if (message.type() === 'error') {
      const { url, lineNumber } = message.location();
      errors.push(`console.error: ${message.text()}${url ? ` (${url}:${lineNumber})` : ''}`);
    }
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.stack || error.message || error}`));
  return errors;
}

/**
 * The console errors recorded on a page from `newPage` (or `collectConsoleErrors`) so far, minus
 * those matching any regular expression in `ignore` (keep these narrow: e.g. the 401 Chromium
 * logs when a logged-out console asks GET /api/v1/me).
 */
export function consoleErrors(page, { ignore = [] } = {}) {
  const errors = collected.get(page) ?? collectConsoleErrors(page);
  return errors.filter((error) => !ignore.some((pattern) => pattern.test(error)));
}

/** A page in its own context (own cookies), console errors recorded from the start. */
export async function newPage(browser, { width = 1280, height = 800 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  collectConsoleErrors(page);
  return page;
}

/**
 * Log in through the page's context: `page.request` shares the context's cookie jar, so the
 * HttpOnly `switchboard_session` cookie the server sets applies to the page's later navigations.
 * Returns the login response body ({ token, user }).
 */
export async function login(page, base, email, password = DEMO_PASSWORD) {
  const response = await page.request.post(`${base}/api/v1/auth/login`, { data: { email, password } });
  if (!response.ok()) throw new Error(`login as ${email} failed: ${response.status()} ${await response.text()}`);
  const body = await response.json();
  const cookies = await page.context().cookies(base);
  if (!cookies.some((cookie) => cookie.name === 'switchboard_session')) {
    throw new Error('login answered but the page context got no switchboard_session cookie');
  }
  return body;
}

/** Save a full-page PNG under web/tests/screenshots/<name>.png (git-ignored); returns its path. */
export async function screenshot(page, name) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers (Node's fetch, outside the browser)

async function json(response, what) {
  const text = await response.text();
  if (!response.ok) throw new Error(`${what}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** `fetch` of a sandbox page or endpoint (`path` from the root, e.g. /sandbox/api/messages) as
 * the hub's staff session from `startHub`: the sandboxes refuse anyone else. */
export function sandboxFetch(base, path, init = {}) {
  const token = staffTokens.get(base);
  if (!token) throw new Error(`no staff session for ${base}: start it with startHub()`);
  return fetch(`${base}${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
}

/** Write as a WhatsApp customer through the sandbox phone's endpoint (a real, signed webhook). */
export async function sandboxSend(base, { wa_id, name, text }) {
  const response = await sandboxFetch(base, '/sandbox/api/send', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ wa_id, name, text }),
  });
  return json(response, 'sandbox send');
}

/** What the sandbox phone of `waId` shows: `{ items: [{ direction, text, status, … }] }`. */
export async function sandboxPhone(base, waId) {
  return json(await sandboxFetch(base, `/sandbox/api/messages?wa_id=${encodeURIComponent(waId)}`), 'sandbox phone');
}

/** The hub's WhatsApp app secret (generated per install), as its admin reads it: to sign
 * webhooks the way Meta would. */
export async function appSecret(base) {
  const token = await apiLogin(base, DEMO.admin);
  return (await api(base, token, '/account/channel-secrets')).whatsapp.app_secret.value;
}

/** Log in with fetch; returns the bearer token. */
export async function apiLogin(base, email, password = DEMO_PASSWORD) {
  const response = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return (await json(response, `login as ${email}`)).token;
}

/** Call the REST API with a bearer token; `path` is under /api/v1. Returns the parsed body. */
export async function api(base, token, path, { method = 'GET', body } = {}) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return json(response, `${method} ${path}`);
}

/** Poll `check` until it returns a truthy value (which is returned) or `timeout` ms pass. */
export async function waitFor(check, { timeout = 5_000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${message}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(interval);
  }
}
