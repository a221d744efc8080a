// Shared by the browser tests and the screenshot script: starts the real Parley server on
// a private data directory, launches Debian's Chromium through playwright-core, and gives
// small helpers. Nothing here sleeps: every wait is on a process line or a page state.

import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = path.resolve(here, '..');
export const REPO_DIR = path.resolve(WEB_DIR, '../..');
export const SERVER_BINARY = path.join(REPO_DIR, 'target/debug/parley');
export const CHROMIUM = '/usr/bin/chromium';

/** Every Playwright wait gives up after this long. */
export const TIMEOUT_MS = 15_000;
/** The first start runs initdb, which can take several seconds on a busy machine. */
const SERVER_START_TIMEOUT_MS = 120_000;

export const PASSWORD = 'correct horse battery staple';

function ensureServerBinary() {
  if (fs.existsSync(SERVER_BINARY)) return;
  // Cargo's output goes to our stderr: the test runner reads stdout.
  execFileSync('cargo', ['build', '--bin', 'parley'], { cwd: REPO_DIR, stdio: ['ignore', 2, 2] });
}

/** A fresh data directory; the server runs PostgreSQL as `postgres`, which must enter it. */
export function makeDataDir() {
  const dir = fs.mkdtempSync('/tmp/parley-web-');
  fs.chmodSync(dir, 0o755);
  return dir;
}

/**
 * A throwaway self-signed certificate for 127.0.0.1 and its key, made with the openssl
 * command; `remove()` deletes both. For `startServer({ tls })`.
 */
export function makeCertificate() {
  const dir = fs.mkdtempSync('/tmp/parley-tls-');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: ['ignore', 'ignore', 2] });
  return { cert, key, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts `target/debug/parley --listen <listen> --data-dir <dataDir> [extraArgs…]` and
 * resolves once it prints `listening on http://…` (`https://…` with `tls`: `{ cert, key }`
 * PEM paths, given as `--tls-cert` and `--tls-key`). `stop()` sends SIGTERM and waits for
 * the exit.
 */
export async function startServer({
  dataDir = makeDataDir(), listen = '127.0.0.1:0', ownsDataDir = true, tls, extraArgs = [],
} = {}) {
  ensureServerBinary();
  // Every test signs up its own users from one address: no sign-up limit here.
  const args = ['--listen', listen, '--data-dir', dataDir, '--registrations-per-minute', '0', ...extraArgs];
  if (tls) args.push('--tls-cert', tls.cert, '--tls-key', tls.key);
  const child = spawn(SERVER_BINARY, args, {
    cwd: REPO_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', RUST_LOG: process.env.RUST_LOG ?? 'info,actix_server=warn' },
  });
  const log = [];
  const remember = (line) => {
    log.push(line);
    if (log.length > 200) log.shift();
    if (process.env.PARLEY_TEST_LOG) process.stderr.write(`[parley] ${line}\n`);
  };
  // Keep reading both pipes for the server's whole life, or it would block on a full pipe.
  readline.createInterface({ input: child.stderr }).on('line', remember);
  const lines = readline.createInterface({ input: child.stdout });
  const exited = once(child, 'exit');

  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the server did not start within ${SERVER_START_TIMEOUT_MS} ms:\n${log.join('\n')}`));
    }, SERVER_START_TIMEOUT_MS);
    lines.on('line', (line) => {
      remember(line);
      // eslint-disable-next-line no-control-regex
      const match = /listening on (https?:\/\/127\.0\.0\.1:\d+)/.exec(line.replace(/\x1b\[[0-9;]*m/g, ''));
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before listening:\n${log.join('\n')}`));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });

  let stopped = false;
  return {
    url,
    port: Number(new URL(url).port),
    dataDir,
    log,
    async stop({ keepData = !ownsDataDir } = {}) {
      if (!stopped) {
        stopped = true;
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      }
      if (!keepData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Chromium, headless; `args` are added to its command line. */
export function launchBrowser({ args = [] } = {}) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
      ...args,
    ],
  });
}

/** Calls the API from Node (not from a page). Resolves to {status, headers, data}. */
export async function apiCall(baseUrl, method, apiPath, { token, body, headers = {} } = {}) {
  const response = await fetch(new URL(apiPath, baseUrl), {
    method,
    headers: {
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new Error(`${method} ${apiPath} answered ${response.status}: ${text}`);
  }
  return { status: response.status, headers: response.headers, data };
}

/** Registers a user and returns a bearer token for it (for API calls made by the test). */
export async function registerUser(baseUrl, username, password = PASSWORD) {
  await apiCall(baseUrl, 'POST', '/api/users', { body: { username, password } });
  const { data } = await apiCall(baseUrl, 'POST', '/api/sessions', { body: { username, password } });
  return data.token;
}

/**
 * A browser context signed in as `username`: the login goes through the context's own
 * request API, which shares the context's cookie jar, so the page gets the real HttpOnly
 * session cookie. The page's own sign that a session exists (`parley_signed_in`, which the
 * log-in form sets) is added as well.
 */
export async function signedInContext(browser, baseUrl, username, options = {}) {
  const context = await browser.newContext({ baseURL: baseUrl, ...options });
  context.setDefaultTimeout(TIMEOUT_MS);
  if (username) {
    const response = await context.request.post('/api/sessions', { data: { username, password: PASSWORD } });
    if (response.status() !== 201) throw new Error(`login as ${username} failed: ${response.status()}`);
    await context.addCookies([{ name: 'parley_signed_in', value: '1', url: baseUrl, sameSite: 'Strict' }]);
  }
  return context;
}

/**
 * Opens a page that records JavaScript errors, console errors (CSP violations appear
 * there) and dialogs. `problems()` lists them; a test expects none. `consoleErrors()`
 * lists every console error, failed requests included.
 */
export async function openPage(context, pagePath) {
  const page = await context.newPage();
  const problems = [];
  const consoleErrors = [];
  const dialogs = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    consoleErrors.push(text);
    // Chromium logs every 4xx answer as "Failed to load resource", also the ones a test
    // provokes on purpose (a 422, a 412); that is the network, not the page's code.
    if (text.startsWith('Failed to load resource')) return;
    problems.push(`console error: ${text}`);
  });
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.problems = () => problems;
  page.consoleErrors = () => consoleErrors;
  page.dialogs = () => dialogs;
  if (pagePath) await goto(page, pagePath);
  return page;
}

/** Navigates and waits until the view has rendered (the shell drops `aria-busy`). */
export async function goto(page, pagePath) {
  await page.goto(pagePath);
  await waitForView(page);
}

export async function waitForView(page) {
  await page.locator('#view:not([aria-busy])').waitFor();
}

/** Waits until `locator` holds `text` (a substring, or a RegExp). */
export async function waitForText(locator, text) {
  await locator.filter({ hasText: text }).first().waitFor();
}

/**
 * Resolves once `check()` resolves truthy, asking again every 100 ms; fails after
 * TIMEOUT_MS with `what`. Only for state that is kept up to date in the background and
 * has nothing to wait on (the rooms list takes in new messages once per heartbeat).
 */
export async function eventually(what, check) {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the page's path is `pathname`. */
export async function waitForPath(page, pathname) {
  await page.waitForURL((url) => url.pathname === pathname);
}
