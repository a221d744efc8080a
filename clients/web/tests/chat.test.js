// Chat rooms: messages as literal text, and live updates across a server restart.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, registerUser, signedInContext, openPage, waitForText, apiCall, PASSWORD,
} from './harness.js';

let server;
let browser;
let bobToken;

before(async () => {
  server = await startServer({ ownsDataDir: false });
  browser = await launchBrowser();
  await registerUser(server.url, 'alice');
  bobToken = await registerUser(server.url, 'bob');
});

after(async () => {
  await browser?.close();
  await server?.stop({ keepData: false });
});

test('a chat message with HTML in it shows as literal text, for the sender and the other user', async () => {
  const alice = await signedInContext(browser, server.url, 'alice');
  const bob = await signedInContext(browser, server.url, 'bob');
  try {
    const bobPage = await openPage(bob, '/chat/general');
    const alicePage = await openPage(alice, '/chat');
    await alicePage.getByRole('textbox', { name: 'Room name' }).fill('general');
    await alicePage.getByRole('button', { name: 'Join' }).click();
    await alicePage.getByRole('heading', { name: 'general' }).waitFor();

    const evil = '<img src=x onerror=alert(1)>';
    await alicePage.getByRole('textbox', { name: 'Message' }).fill(evil);
    await alicePage.getByRole('textbox', { name: 'Message' }).press('Enter');

    for (const page of [alicePage, bobPage]) {
      const line = page.locator('.message-text').filter({ hasText: evil });
      await line.waitFor();
      assert.ok(await line.isVisible());
      assert.equal(await line.textContent(), evil);
      assert.equal(await page.locator('main img').count(), 0, 'no img element was created');
      assert.deepEqual(page.dialogs(), [], 'no dialog fired');
      assert.deepEqual(page.problems(), []);
    }
    assert.equal(await bobPage.locator('.message', { hasText: evil }).locator('.message-author').textContent(), 'alice');
  } finally {
    await alice.close();
    await bob.close();
  }
});

test('a dropped stream shows "Reconnecting…" and resumes without losing a message', async () => {
  const alice = await signedInContext(browser, server.url, 'alice');
  try {
    const page = await openPage(alice, '/chat/ops');
    await page.getByText('No messages yet — say hello').waitFor();
    const indicator = page.locator('#connection');
    assert.equal(await indicator.isVisible(), false);

    // Stop the server: the stream ends, and the page says it is reconnecting.
    const { port, dataDir } = server;
    await server.stop({ keepData: true });
    await waitForText(indicator, 'Reconnecting…');
    assert.ok(await indicator.isVisible());

    // Start it again on the same address and data, and post while the page is away.
    server = await startServer({ dataDir, listen: `127.0.0.1:${port}`, ownsDataDir: false });
    await apiCall(server.url, 'POST', '/api/rooms/chat/ops/messages', {
      token: bobToken, body: { message: 'posted while you were away' },
    });

    // The page reconnects with Last-Event-ID and receives the missed message.
    await waitForText(page.locator('.message'), 'posted while you were away');
    await indicator.waitFor({ state: 'hidden' });
    assert.deepEqual(page.problems(), []);
  } finally {
    await alice.close();
  }
});

test('after a stream reset (the server\'s data was replaced) the page refetches the room', async () => {
  const alice = await signedInContext(browser, server.url, 'alice');
  try {
    for (let i = 1; i <= 5; i += 1) {
      await apiCall(server.url, 'POST', '/api/rooms/chat/lobby/messages', {
        token: bobToken, body: { message: `old line ${i}` },
      });
    }
    const page = await openPage(alice, '/chat/lobby');
    await waitForText(page.locator('.message'), 'old line 5');

    // A new server on the same address with a brand-new database: the position the page
    // holds was never handed out there, so the stream answers `reset`, and the page must
    // fetch the room again instead of keeping what it showed.
    const { port } = server;
    await server.stop({ keepData: false });
    await waitForText(page.locator('#connection'), 'Reconnecting…');
    server = await startServer({ listen: `127.0.0.1:${port}`, ownsDataDir: false });
    await registerUser(server.url, 'alice'); // for the tests that follow
    bobToken = await registerUser(server.url, 'bob');
    // Sessions do not survive the data: the new server refuses the old session cookie
    // (401, never anonymous), which the page cannot drop (it is HttpOnly). Log in again,
    // as a user would; the page's next reconnection carries the new cookie.
    const login = await alice.request.post('/api/sessions', { data: { username: 'alice', password: PASSWORD } });
    assert.equal(login.status(), 201);
    await apiCall(server.url, 'POST', '/api/rooms/chat/lobby/messages', {
      token: bobToken, body: { message: 'first line of the new server' },
    });

    await waitForText(page.locator('.message'), 'first line of the new server');
    await page.locator('.message', { hasText: 'old line' }).first().waitFor({ state: 'detached' });
    await page.locator('#connection').waitFor({ state: 'hidden' });
    assert.equal(await page.locator('.message').count(), 1);
    assert.deepEqual(page.problems(), []);
  } finally {
    await alice.close();
  }
});

test('an empty room says so in its middle, until the first message arrives', async () => {
  const alice = await signedInContext(browser, server.url, 'alice', { viewport: { width: 1280, height: 800 } });
  try {
    const page = await openPage(alice, '/chat/quiet-corner');
    const log = page.getByRole('log', { name: 'Messages' });
    const empty = log.locator('.empty');
    await waitForText(empty, 'No messages yet — say hello');
    // Centred in the log, not a line at the bottom of a blank box.
    const box = await log.boundingBox();
    const text = await empty.boundingBox();
    const offset = Math.abs((text.y + text.height / 2) - (box.y + box.height / 2));
    assert.ok(offset < box.height / 10, `the empty state is ${offset}px from the middle of a ${box.height}px log`);

    await apiCall(server.url, 'POST', '/api/rooms/chat/quiet-corner/messages', { token: bobToken, body: { message: 'hello!' } });
    await waitForText(log.locator('.message-text'), 'hello!');
    assert.equal(await empty.isVisible(), false);
    assert.deepEqual(page.problems(), []);
  } finally {
    await alice.close();
  }
});

test('a room name with a slash, a dot and accents works, also after a reload', async () => {
  const alice = await signedInContext(browser, server.url, 'alice');
  try {
    const page = await openPage(alice, '/chat');
    await page.getByRole('textbox', { name: 'Room name' }).fill('café / ops.v2');
    await page.getByRole('button', { name: 'Join' }).click();
    await page.getByRole('heading', { name: 'café / ops.v2' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/chat/caf%C3%A9%20%2F%20ops%2Ev2');
    await page.getByRole('textbox', { name: 'Message' }).fill('hello, odd room');
    await page.getByRole('button', { name: 'Send' }).click();
    await waitForText(page.locator('.message'), 'hello, odd room');
    await page.reload();
    await waitForText(page.locator('.message'), 'hello, odd room');
    // The server stored it under the decoded name.
    const { data } = await apiCall(server.url, 'GET', `/api/rooms/chat/${encodeURIComponent('café / ops.v2')}/messages`);
    assert.equal(data.items[0].room, 'café / ops.v2');
    assert.deepEqual(page.problems(), []);
  } finally {
    await alice.close();
  }
});
