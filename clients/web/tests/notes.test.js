// Notes and comments, live, with two users in two browser contexts.

import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, registerUser, signedInContext, openPage, goto, waitForView,
  waitForText, waitForPath, apiCall,
} from './harness.js';

let server;
let browser;
let aliceToken;
let alice; // browser context of the note's author
let bob; // browser context of another user
let pages = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  aliceToken = await registerUser(server.url, 'alice');
  await registerUser(server.url, 'bob');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

beforeEach(async () => {
  alice = await signedInContext(browser, server.url, 'alice');
  bob = await signedInContext(browser, server.url, 'bob');
  pages = [];
});

afterEach(async () => {
  for (const page of pages) {
    assert.deepEqual(page.problems(), [], `errors on ${page.url()}`);
    assert.deepEqual(page.dialogs(), [], `dialogs on ${page.url()}`);
  }
  await alice.close();
  await bob.close();
});

async function open(context, path) {
  const page = await openPage(context, path);
  pages.push(page);
  return page;
}

async function createNote(key, title, body) {
  await apiCall(server.url, 'POST', '/api/notes', { token: aliceToken, body: { key, title, body } });
}

/** Marks the page, so that a test can tell it was never reloaded. */
async function mark(page) {
  await page.evaluate(() => { window.parleyTestMarker = 'still here'; });
}

async function assertNotReloaded(page) {
  assert.equal(await page.evaluate(() => window.parleyTestMarker), 'still here', 'the page was reloaded');
}

test('a comment posted by one user appears for the other without a reload', async () => {
  await createNote('picnic', 'Picnic', 'Saturday at noon.');
  const alicePage = await open(alice, '/notes/picnic');
  const bobPage = await open(bob, '/notes/picnic');
  await mark(alicePage);

  const composer = bobPage.getByRole('textbox', { name: 'Add a comment' });
  await composer.fill('I will bring lemonade');
  await bobPage.getByRole('button', { name: 'Post comment' }).click();

  // Bob sees it at once (from the POST), Alice through the event stream.
  await waitForText(bobPage.locator('.message'), 'I will bring lemonade');
  const comment = alicePage.locator('.message', { hasText: 'I will bring lemonade' });
  await comment.waitFor();
  assert.equal(await comment.locator('.message-author').textContent(), 'bob');
  assert.equal(await comment.locator('time').count(), 1);
  assert.equal(await composer.inputValue(), '', 'the box is emptied after posting');
  await assertNotReloaded(alicePage);

  // Bob edits his comment; Alice sees the edit.
  const bobComment = bobPage.locator('.message', { hasText: 'I will bring lemonade' });
  await bobComment.getByRole('button', { name: 'Edit comment' }).click();
  const editBox = bobComment.getByRole('textbox', { name: 'Edit your comment' });
  await editBox.fill('I will bring lemonade and cups');
  await bobComment.getByRole('button', { name: 'Save' }).click();
  await waitForText(alicePage.locator('.message'), 'I will bring lemonade and cups');
  await waitForText(alicePage.locator('.message'), 'edited');

  // Alice may not edit Bob's comment, but as the note's author she may delete it.
  const seenByAlice = alicePage.locator('.message', { hasText: 'lemonade and cups' });
  assert.equal(await seenByAlice.getByRole('button', { name: 'Edit comment' }).count(), 0);
  await seenByAlice.getByRole('button', { name: 'Delete comment' }).click();
  await seenByAlice.getByRole('button', { name: 'Yes, delete' }).click();
  await seenByAlice.waitFor({ state: 'detached' });
  await bobPage.locator('.message', { hasText: 'lemonade and cups' }).waitFor({ state: 'detached' });
  await bobPage.getByText('No comments yet.').waitFor();
  await assertNotReloaded(alicePage);
});

test('a note edited by its author updates the other user’s note page and home list live', async () => {
  await createNote('groceries', 'Groceries', 'milk, eggs');
  const bobNote = await open(bob, '/notes/groceries');
  const bobHome = await open(bob, '/');
  await waitForText(bobHome.locator('.note-item'), 'Groceries');
  await mark(bobNote);
  await mark(bobHome);

  const alicePage = await open(alice, '/notes/groceries');
  await alicePage.getByRole('button', { name: 'Edit note' }).click();
  await alicePage.getByRole('textbox', { name: 'Title' }).fill('Groceries for Sunday');
  await alicePage.getByRole('textbox', { name: 'Text' }).fill('milk, eggs, bread\nand coffee');
  await alicePage.getByRole('button', { name: 'Save changes' }).click();
  await waitForText(alicePage.locator('#note-title'), 'Groceries for Sunday');

  // Bob's note page follows, without a reload.
  await waitForText(bobNote.locator('#note-title'), 'Groceries for Sunday');
  await waitForText(bobNote.locator('.note-body'), 'and coffee');
  await waitForText(bobNote.locator('.note-meta'), 'version 2');
  assert.equal(await bobNote.title(), 'Groceries for Sunday · Parley');
  // Bob is not the author: no edit or delete buttons for him.
  assert.equal(await bobNote.getByRole('button', { name: 'Edit note' }).count(), 0);
  assert.equal(await bobNote.getByRole('button', { name: 'Delete note' }).count(), 0);

  // So does his home list, and it also shows a note created meanwhile, through the form.
  await waitForText(bobHome.locator('.note-item'), 'Groceries for Sunday');
  const aliceHome = await open(alice, '/');
  await aliceHome.getByRole('textbox', { name: 'Title' }).fill('Book club');
  assert.equal(await aliceHome.getByRole('textbox', { name: 'Key' }).inputValue(), 'book-club',
    'the key is suggested from the title');
  await aliceHome.getByRole('textbox', { name: 'Text' }).fill('Next: Middlemarch');
  await aliceHome.getByRole('button', { name: 'Create note' }).click();
  await waitForPath(aliceHome, '/notes/book-club');
  await waitForText(aliceHome.locator('#note-title'), 'Book club');
  const bookClub = bobHome.locator('.note-item', { hasText: 'Book club' });
  await bookClub.waitFor();
  assert.equal(await bookClub.locator('.note-author').textContent(), 'alice');
  const titles = await bobHome.locator('.note-title').allTextContents();
  assert.deepEqual(titles.filter((t) => t === 'Book club' || t === 'Groceries for Sunday'),
    ['Book club', 'Groceries for Sunday'], 'the list stays in key order');
  await assertNotReloaded(bobNote);
  await assertNotReloaded(bobHome);
});

test('a stale edit gets a clear message on 412, and saving again overwrites on purpose', async () => {
  await createNote('plans', 'Plans', 'first draft');
  const tabA = await open(alice, '/notes/plans');
  const tabB = await open(alice, '/notes/plans');

  await tabA.getByRole('button', { name: 'Edit note' }).click();
  await tabA.getByRole('textbox', { name: 'Text' }).fill('edited in tab A');

  await tabB.getByRole('button', { name: 'Edit note' }).click();
  await tabB.getByRole('textbox', { name: 'Text' }).fill('edited in tab B');
  await tabB.getByRole('button', { name: 'Save changes' }).click();
  await waitForText(tabB.locator('.note-body'), 'edited in tab B');

  await tabA.getByRole('button', { name: 'Save changes' }).click();
  const alert = tabA.getByRole('alert').filter({ hasText: 'this note was changed since you started editing' });
  await alert.waitFor();
  await waitForText(tabA.locator('.conflict-latest'), 'edited in tab B');
  assert.equal(await tabA.getByRole('textbox', { name: 'Text' }).inputValue(), 'edited in tab A',
    'the draft is kept');

  await tabA.getByRole('button', { name: 'Save my version' }).click();
  await waitForText(tabA.locator('.note-body'), 'edited in tab A');
  await waitForText(tabB.locator('.note-body'), 'edited in tab A');
});

test('deleting the note sends its viewers home', async () => {
  await createNote('old-news', 'Old news', 'to be deleted');
  const bobNote = await open(bob, '/notes/old-news');
  const bobHome = await open(bob, '/');
  await waitForText(bobHome.locator('.note-item'), 'Old news');
  await bobNote.getByRole('textbox', { name: 'Add a comment' }).fill('bye');
  await bobNote.getByRole('button', { name: 'Post comment' }).click();
  await waitForText(bobNote.locator('.message'), 'bye');

  const alicePage = await open(alice, '/notes/old-news');
  await alicePage.getByRole('button', { name: 'Delete note' }).click();
  await alicePage.getByRole('button', { name: 'Yes, delete it' }).click();
  await waitForPath(alicePage, '/');
  await waitForText(alicePage.locator('.flash'), 'You deleted the note “Old news”');

  // Bob was reading it: his page goes home and tells him why.
  await waitForPath(bobNote, '/');
  await waitForView(bobNote);
  await waitForText(bobNote.locator('.flash'), 'The note “Old news” was deleted');
  assert.equal(await bobNote.locator('.note-item', { hasText: 'Old news' }).count(), 0);
  // And his other tab, on the home page, drops it from the list.
  await bobHome.locator('.note-item', { hasText: 'Old news' }).waitFor({ state: 'detached' });

  // The note's address now says it is gone.
  await goto(bobNote, '/notes/old-news');
  await bobNote.getByRole('heading', { name: 'Note not found' }).waitFor();
});

test('a note key with a dot gets a working page address', async () => {
  await createNote('v1.2', 'Release 1.2', 'changelog');
  const page = await open(bob, '/');
  await page.getByRole('link', { name: 'Release 1.2' }).click();
  await waitForText(page.locator('#note-title'), 'Release 1.2');
  assert.equal(new URL(page.url()).pathname, '/notes/v1%2E2');
  await page.reload();
  await waitForView(page);
  await waitForText(page.locator('#note-title'), 'Release 1.2');
});

test('the note page works from the keyboard', async () => {
  await createNote('keys', 'Keyboard', 'no mouse needed');
  const page = await open(bob, '/');
  const active = () => page.evaluate(() => document.activeElement?.textContent?.trim() || document.activeElement?.id);

  // The first Tab reaches the skip link.
  await page.keyboard.press('Tab');
  assert.equal(await active(), 'Skip to content');

  // Following a note link with Enter moves focus to the new page's heading.
  await page.getByRole('link', { name: 'Keyboard' }).focus();
  await page.keyboard.press('Enter');
  await waitForPath(page, '/notes/keys');
  await waitForView(page);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'note-title');

  // Ctrl+Enter posts a comment; Escape leaves the editor and gives focus back.
  const box = page.getByRole('textbox', { name: 'Add a comment' });
  await box.focus();
  await page.keyboard.type('typed, not clicked');
  await page.keyboard.press('Control+Enter');
  const comment = page.locator('.message', { hasText: 'typed, not clicked' });
  await comment.waitFor();
  await comment.getByRole('button', { name: 'Edit comment' }).focus();
  await page.keyboard.press('Enter');
  const editor = comment.getByRole('textbox', { name: 'Edit your comment' });
  await editor.waitFor();
  assert.ok(await editor.evaluate((el) => el === document.activeElement), 'the editor has focus');
  await page.keyboard.press('Escape');
  await editor.waitFor({ state: 'detached' });
  assert.equal(await active(), 'Edit');
});
