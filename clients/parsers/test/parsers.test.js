// Three Server-Sent Events parsers that Parley's team did not write — npm `eventsource`,
// `@microsoft/fetch-event-source` and Python's `httpx-sse` — follow one room of the real
// server, each used the way its documentation says. Each must receive exactly the events
// sent, in order, none of them empty, across a cut connection and a server restart.
// Every wait is bounded; nothing sleeps.

import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// fetch-event-source is written for browsers: it takes its timers from `window` and
// watches `document` for the page being hidden (off with `openWhenHidden`).
globalThis.window ??= globalThis;
globalThis.document ??= { hidden: false, addEventListener() {}, removeEventListener() {} };
const { EventSource } = await import('eventsource');
const { fetchEventSource } = await import('@microsoft/fetch-event-source');

const here = path.dirname(fileURLToPath(import.meta.url));
const PARSERS_DIR = path.resolve(here, '..');
const REPO_DIR = path.resolve(PARSERS_DIR, '../..');
// PARLEY_BINARY: another build to check, e.g. an older one.
const SERVER_BINARY = process.env.PARLEY_BINARY ?? path.join(REPO_DIR, 'target/debug/parley');
const PYTHON = path.join(PARSERS_DIR, '.venv/bin/python');

/** The first start runs initdb, which can take several seconds on a busy machine. */
const SERVER_START_MS = 120_000;
/** Any one wait for events; reconnecting takes the server's `retry:` hint (2–3 s). */
const PATIENCE_MS = 30_000;
const PASSWORD = 'correct horse battery staple';
const ROOM = 'chat/parsers';
/** Every event type this room's stream can carry in this test. */
const EVENT_NAMES = ['ready', 'reset', 'message.created', 'message.updated', 'message.deleted'];

/** `target/debug/parley` on a free port of loopback; resolves once it is listening. */
async function startServer(dataDir) {
  const child = spawn(
    SERVER_BINARY,
    // Keep-alives every 250 ms, so that the parsers meet many of them.
    ['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--registrations-per-minute', '0', '--sse-keep-alive', '250ms'],
    { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', RUST_LOG: 'info,actix_server=warn' } },
  );
  const log = [];
  const remember = (line) => {
    log.push(line);
    if (log.length > 200) log.shift();
  };
  // Both pipes are read for the server's whole life, or it would block on a full pipe.
  readline.createInterface({ input: child.stderr }).on('line', remember);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" within ${SERVER_START_MS} ms:\n${log.join('\n')}`)), SERVER_START_MS);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      remember(line);
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before listening:\n${log.join('\n')}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A TCP relay in front of the server, so that the test can cut every connection at once
 * (`cut`) and follow the server to a new port after a restart (`upstreamPort()`).
 */
async function startRelay(upstreamPort) {
  const sockets = new Set();
  const track = (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const relay = net.createServer((client) => {
    const upstream = net.connect(upstreamPort(), '127.0.0.1');
    track(client);
    track(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', cut).on('close', cut);
    upstream.on('error', cut).on('close', cut);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${relay.address().port}`,
    cut() {
      for (const socket of sockets) socket.destroy();
    },
    close() {
      this.cut();
      return new Promise((resolve) => relay.close(resolve));
    },
  };
}

async function api(baseUrl, method, apiPath, { token, body } = {}) {
  const response = await fetch(new URL(apiPath, baseUrl), {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${apiPath}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/**
 * What one parser delivered to the application: every event (`{event, id, data, retry}`)
 * and, for the parsers that say so, where each connection opened (`opens`).
 */
class Received {
  constructor(name) {
    this.name = name;
    this.events = [];
    this.opens = [];
  }

  opened() {
    this.opens.push(this.events.length);
  }

  push(event) {
    this.events.push(event);
  }

  readies() {
    return this.events.filter((event) => event.event === 'ready').length;
  }

  /** The ids of the messages received, in order. */
  messageIds() {
    return this.events
      .filter((event) => event.event === 'message.created')
      .map((event) => JSON.parse(event.data).id);
  }
}

/** npm `eventsource`: a WHATWG EventSource; it reconnects by itself with Last-Event-ID. */
function followWithEventSource(url) {
  const received = new Received('eventsource');
  const source = new EventSource(url);
  const record = (name) => (message) => received.push({ event: name, id: message.lastEventId, data: message.data });
  for (const name of EVENT_NAMES) source.addEventListener(name, record(name));
  // Events without a name: the server sends none, so any that arrives is a framing bug.
  source.onmessage = record('message');
  source.onopen = () => received.opened();
  return { received, close: () => source.close() };
}

class Reconnect extends Error {}

/** `@microsoft/fetch-event-source`, with its documented pattern for reconnecting on close. */
function followWithFetchEventSource(url) {
  const received = new Received('fetch-event-source');
  const controller = new AbortController();
  fetchEventSource(url, {
    signal: controller.signal,
    openWhenHidden: true,
    async onopen(response) {
      if (response.status !== 200) throw new Reconnect(`status ${response.status}`);
      received.opened();
    },
    // Every message, named or not, empty or not: what an application's handler sees.
    onmessage(message) {
      received.push({ event: message.event, id: message.id, data: message.data, retry: message.retry });
    },
    onclose() {
      throw new Reconnect('the server ended the stream');
    },
    // Returning nothing retries after the server's `retry:` hint.
    onerror() {},
  }).catch(() => {});
  return { received, close: () => controller.abort() };
}

/** Python's `httpx-sse`, in httpx_sse_subscriber.py, which prints what it receives. */
function followWithHttpxSse(url) {
  const received = new Received('httpx-sse');
  const child = spawn(PYTHON, [path.join(PARSERS_DIR, 'httpx_sse_subscriber.py'), url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errors = [];
  readline.createInterface({ input: child.stderr }).on('line', (line) => errors.push(line));
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const record = JSON.parse(line);
    if ('open' in record) {
      if (record.open === 200) received.opened();
    } else if ('event' in record) {
      received.push(record);
    }
  });
  received.errors = errors;
  return { received, close: () => child.kill('SIGTERM') };
}

/** Resolves once `done()` holds, checking every 20 ms; fails after PATIENCE_MS. */
async function eventually(what, done, describe) {
  const deadline = Date.now() + PATIENCE_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${PATIENCE_MS} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What is wrong with what one parser delivered: nothing, or one line per kind of fault. */
function faults(received, posted) {
  const { name, events } = received;
  // One line per kind of fault, with its first example.
  const found = new Map();
  const add = (kind, line) => found.has(kind) || found.set(kind, line);
  const ids = received.messageIds();
  if (JSON.stringify(ids) !== JSON.stringify(posted)) {
    add('messages', `${name}: messages ${JSON.stringify(ids)}, not each of ${JSON.stringify(posted)} once in order`);
  }
  const firsts = new Set(received.opens);
  events.forEach((event, index) => {
    const shown = JSON.stringify(event);
    if (event.data === '') add('empty', `${name}: an empty event, e.g. ${shown}`);
    else if (!isJson(event.data)) add('json', `${name}: data that is not JSON, e.g. ${shown}`);
    if (!EVENT_NAMES.includes(event.event)) add('name', `${name}: an event named ${JSON.stringify(event.event)}, e.g. ${shown}`);
    if (event.event === 'reset') add('reset', `${name}: a reset, though nothing was too old to replay`);
    // The parsers that report `retry:`: the first event of each connection has it, no other.
    if ('retry' in event) {
      const hinted = event.retry >= 2000 && event.retry < 3000;
      const none = event.retry === undefined || event.retry === null;
      if (firsts.has(index) ? !hinted : !none) {
        add('retry', `${name}: the retry hint is not (only) on each connection's first event, e.g. #${index} ${shown}`);
      }
    }
  });
  return [...found.values()];
}

function isJson(text) {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

test('eventsource, fetch-event-source and httpx-sse get every event once, none empty, across a cut and a restart', async () => {
  const dataDir = fs.mkdtempSync('/tmp/parley-parsers-');
  // As root, the server runs PostgreSQL as `postgres`, which must enter it.
  fs.chmodSync(dataDir, 0o755);
  let server = await startServer(dataDir);
  const relay = await startRelay(() => server.port);
  const followers = [];
  try {
    await api(server.url, 'POST', '/api/users', { body: { username: 'alice', password: PASSWORD } });
    const { token } = await api(server.url, 'POST', '/api/sessions', { body: { username: 'alice', password: PASSWORD } });
    const posted = [];
    const post = async (count, label) => {
      for (let n = 0; n < count; n += 1) {
        const message = await api(server.url, 'POST', `/api/rooms/${ROOM}/messages`, { token, body: { message: `${label} ${n}` } });
        posted.push(message.id);
      }
    };

    const url = `${relay.url}/api/rooms/${ROOM}/events`;
    followers.push(followWithEventSource(url), followWithFetchEventSource(url), followWithHttpxSse(url));
    const all = followers.map((follower) => follower.received);
    const describe = () => all.map((r) => `${r.name}: ${r.readies()} ready, messages ${JSON.stringify(r.messageIds())} of ${JSON.stringify(posted)}`).join('; ');
    const everyoneHas = (readies) => () =>
      all.every((r) => r.readies() >= readies && r.messageIds().length >= posted.length);

    await eventually('every parser is ready', everyoneHas(1), describe);
    await post(3, 'live');
    await eventually('the live messages', everyoneHas(1), describe);

    // Every connection cut at once; what is posted meanwhile comes with the resume.
    relay.cut();
    await post(2, 'while cut');
    await eventually('the messages posted while cut', everyoneHas(2), describe);

    // A restart (on another port: the relay follows), then more messages.
    await server.stop();
    server = await startServer(dataDir);
    await post(2, 'after the restart');
    await eventually('the messages after the restart', everyoneHas(3), describe);

    assert.deepEqual(all.flatMap((received) => faults(received, posted)), []);
  } finally {
    for (const follower of followers) follower.close();
    await relay.close();
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
