// HTTP/2 over TLS (`--tls-cert`, `--tls-key`): a browser keeps at most six HTTP/1.1
// connections per server, so a seventh request waits behind open event streams. Over
// HTTP/2 every stream and request of the origin shares one connection.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, makeCertificate, TIMEOUT_MS } from './harness.js';

const STREAMS = 8;

let certificate;
let server;
let browser;

before(async () => {
  certificate = makeCertificate();
  server = await startServer({ tls: certificate });
  browser = await launchBrowser({ args: ['--ignore-certificate-errors'] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  certificate?.remove();
});

test(`a page with ${STREAMS} open event streams still loads the API, over HTTP/2`, async () => {
  assert.match(server.url, /^https:/);
  const context = await browser.newContext({ baseURL: server.url, ignoreHTTPSErrors: true });
  try {
    const page = await context.newPage();
    await page.goto('/healthz');
    const result = await page.evaluate(async ({ streams, timeoutMs }) => {
      const within = (promise, what) => Promise.race([
        promise,
        new Promise((resolve, reject) => {
          setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      const sources = [];
      try {
        const ready = [];
        for (let n = 0; n < streams; n += 1) {
          const source = new EventSource(`/api/rooms/chat/room-${n}/events`);
          sources.push(source);
          ready.push(new Promise((resolve) => source.addEventListener('ready', resolve, { once: true })));
        }
        await within(Promise.all(ready), `${streams} streams ready`);
        const response = await within(fetch('/api/notes'), 'fetch(/api/notes)');
        const body = await response.json();
        const protocols = performance.getEntriesByType('resource').map((entry) => entry.nextHopProtocol);
        return {
          status: response.status,
          items: Array.isArray(body.items),
          open: sources.filter((source) => source.readyState === EventSource.OPEN).length,
          protocols: [...new Set(protocols)],
        };
      } finally {
        for (const source of sources) source.close();
      }
    }, { streams: STREAMS, timeoutMs: TIMEOUT_MS });
    assert.equal(result.status, 200);
    assert.ok(result.items, 'a page of notes');
    assert.equal(result.open, STREAMS, 'every stream still open');
    assert.deepEqual(result.protocols, ['h2']);
  } finally {
    await context.close();
  }
});
