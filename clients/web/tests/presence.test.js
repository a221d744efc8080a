// Presence, with two users in two browser contexts: who is here, joins and leaves inline,
// "is typing…", the greeting, the room list from the server, and a note's other viewers.
// The server runs with a short grace period, so that a closed page's leave comes soon.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, registerUser, signedInContext, openPage, waitForText, apiCall, eventually,
} from './harness.js';

let server;
let browser;
let aliceToken;

before(async () => {
  server = await startServer({ extraArgs: ['--presence-grace', '1s'] });
  browser = await launchBrowser();
  aliceToken = await registerUser(server.url, 'alice');
  await registerUser(server.url, 'bob');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Waits until the page's "who is here" list (`label`) names exactly `expected`, in order. */
async function waitForMembers(page, expected, label = 'Here now') {
  await page.waitForFunction(
    ([selector, names]) => {
      const shown = [...document.querySelectorAll(selector)].map((el) => el.textContent);
      return JSON.stringify(shown) === JSON.stringify(names);
    },
    [`section.presence[aria-label="${label}"] .member-name`, expected],
  );
}

test('two users see each other arrive, type, talk and leave', async () => {
  const alice = await signedInContext(browser, server.url, 'alice');
  const bob = await signedInContext(browser, server.url, 'bob');
  try {
    const alicePage = await openPage(alice, '/chat/meeting');
    await waitForText(alicePage.locator('.notice-greeting'), 'Hello alice');
    await waitForMembers(alicePage, ['alice']);

    const bobPage = await openPage(bob, '/chat/meeting');
    await waitForText(bobPage.locator('.notice-greeting'), 'Hello bob');
    // Each sees the other, and themselves first, marked as "you".
    await waitForMembers(bobPage, ['bob', 'alice']);
    await waitForMembers(alicePage, ['alice', 'bob']);
    await waitForText(alicePage.locator('.notice'), 'bob joined');
    assert.equal(await bobPage.locator('.notice', { hasText: 'joined' }).count(), 0, 'no notice of your own arrival');
    assert.equal(await alicePage.locator('.member', { hasText: 'alice' }).locator('.badge').textContent(), 'you');

    // bob types: alice sees it; his message ends it.
    const box = bobPage.getByRole('textbox', { name: 'Message' });
    await box.pressSequentially('hello al');
    await waitForText(alicePage.locator('.typing'), 'bob is typing…');
    assert.equal(await bobPage.locator('.typing').textContent(), '', 'you are not told that you type');
    await box.pressSequentially('ice');
    await box.press('Enter');
    await waitForText(alicePage.locator('.message-text'), 'hello alice');
    await alicePage.locator('.typing').filter({ hasText: 'typing' }).waitFor({ state: 'detached' });

    // bob closes his tab: after the grace period, alice is told, and he leaves the list.
    await bobPage.close();
    await waitForText(alicePage.locator('.notice'), 'bob left');
    await waitForMembers(alicePage, ['alice']);
    // The inline lines keep the room's order: greeting, join, bob's message, leave.
    const lines = await alicePage.locator('.message-list > li').evaluateAll((items) => items.map(
      (li) => (li.classList.contains('notice') ? li.textContent : `${li.querySelector('.message-author').textContent}: ${li.querySelector('.message-text').textContent}`)));
    assert.deepEqual(lines, ['Hello alice, welcome to #meeting.', 'bob joined', 'bob: hello alice', 'bob left']);
    assert.deepEqual([...alicePage.problems(), ...bobPage.problems()], []);
  } finally {
    await alice.close();
    await bob.close();
  }
});

test('the room list comes from the server: rooms with messages or members, newest first', async () => {
  await apiCall(server.url, 'POST', '/api/rooms/chat/older-room/messages', { token: aliceToken, body: { message: 'hi' } });
  // The server takes a room's messages into its list within a heartbeat (2 s).
  await eventually('older-room in the rooms list', async () => {
    const { data } = await apiCall(server.url, 'GET', '/api/rooms/chat?limit=100');
    return data.items.some((item) => item.room === 'older-room');
  });
  const bob = await signedInContext(browser, server.url, 'bob');
  const guest = await signedInContext(browser, server.url, null);
  try {
    // bob sits in a room with no messages: it is listed because he is there.
    const bobPage = await openPage(bob, '/chat/just-people');
    await waitForMembers(bobPage, ['bob']);

    const page = await openPage(guest, '/chat');
    const list = page.getByRole('region', { name: 'Rooms' });
    await waitForText(list, 'just-people');
    // Newest activity first: bob's arrival came after the message in older-room.
    const rooms = await list.locator('.room-link').allTextContents();
    assert.ok(rooms.indexOf('# just-people') < rooms.indexOf('# older-room'), rooms.join(', '));
    assert.ok(rooms.includes('# older-room'), rooms.join(', '));
    assert.equal(await list.locator('.room-item', { hasText: 'just-people' }).locator('.room-members').textContent(), '1 here');
    await list.getByRole('link', { name: 'just-people' }).click();
    await page.getByRole('heading', { name: 'just-people' }).waitFor();
    // A guest sees the members, is not one of them, and is not greeted.
    await waitForMembers(page, ['bob']);
    assert.equal(await page.locator('.notice-greeting').count(), 0);
    assert.deepEqual([...page.problems(), ...bobPage.problems()], []);
  } finally {
    await bob.close();
    await guest.close();
  }
});

test('a note page shows who else is viewing it', async () => {
  await apiCall(server.url, 'POST', '/api/notes', { token: aliceToken, body: { key: 'plans', title: 'Plans', body: 'x' } });
  const alice = await signedInContext(browser, server.url, 'alice');
  const bob = await signedInContext(browser, server.url, 'bob');
  try {
    const alicePage = await openPage(alice, '/notes/plans');
    const viewers = alicePage.getByRole('region', { name: 'Also viewing' });
    const bobPage = await openPage(bob, '/notes/plans');
    await waitForMembers(alicePage, ['bob'], 'Also viewing');
    await waitForMembers(bobPage, ['alice'], 'Also viewing');
    await bobPage.close();
    await viewers.waitFor({ state: 'hidden' });
    assert.deepEqual(alicePage.problems(), []);
  } finally {
    await alice.close();
    await bob.close();
  }
});

test("a large room's count shows from its snapshot, before the first presence.count", async () => {
  const guest = await signedInContext(browser, server.url, null);
  try {
    const page = await openPage(guest, '/chat');
    // The page's own modules, fed a large room's `ready` (the server sends its
    // `presence.count` right after, which would hide a missing first count).
    const shown = await page.evaluate(async () => {
      const { RoomPresence, memberList } = await import('/js/presence.js');
      const view = memberList();
      const presence = new RoomPresence({ onChange: view.render });
      presence.ready({ position: '1-1', presence: { members: [], members_count: 140, anonymous: 3, large: true } });
      return { count: presence.count, text: view.element.querySelector('.member-extra').textContent };
    });
    assert.deepEqual(shown, { count: 140, text: '140 members here · 3 guests reading' });
    assert.deepEqual(page.problems(), []);
  } finally {
    await guest.close();
  }
});
