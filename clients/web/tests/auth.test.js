// Sign up, log in and log out through the forms.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, signedInContext, openPage, goto, waitForText, waitForPath, waitForView,
  registerUser, apiCall, PASSWORD,
} from './harness.js';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('sign-up shows the server’s field error for a too-short password, then signs up', async () => {
  const context = await signedInContext(browser, server.url, null);
  try {
    const page = await openPage(context, '/signup');
    const form = page.getByRole('form', { name: 'Create an account' });
    await form.getByRole('textbox', { name: 'Username' }).fill('carol');
    const password = form.getByLabel('Password', { exact: true });
    await password.fill('short');
    await form.getByRole('button', { name: 'Sign up' }).click();

    // The message comes from the problem's `errors` array, next to the field.
    const error = form.locator('.field[data-field="password"] .field-error');
    await waitForText(error, 'must be 8 to 256 characters long');
    assert.ok(await error.isVisible());
    assert.equal(await password.getAttribute('aria-invalid'), 'true');
    const describedBy = (await password.getAttribute('aria-describedby')).split(' ');
    assert.ok(describedBy.includes(await error.getAttribute('id')), 'the error describes the field');
    assert.ok(await password.evaluate((el) => el === document.activeElement), 'focus moves to the field');
    // The username was fine: no error there.
    assert.equal(await form.locator('.field[data-field="username"] .field-error').isVisible(), false);

    await password.fill('a long enough password');
    await form.getByRole('button', { name: 'Sign up' }).click();
    await waitForPath(page, '/');
    await waitForView(page);
    await waitForText(page.locator('#account'), 'carol');
    await waitForText(page.locator('.flash'), 'Welcome to Parley, carol!');
    // The session is the HttpOnly cookie: nothing in storage, and scripts read only the
    // page's own sign that a session exists, which holds no secret.
    assert.equal(await page.evaluate(() => window.localStorage.length + window.sessionStorage.length), 0);
    assert.equal(await page.evaluate(() => document.cookie), 'parley_signed_in=1');

    // Log out, then a wrong password, then the right one.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#account').getByRole('link', { name: 'Log in' }).waitFor();
    await waitForText(page.locator('.flash'), 'You are logged out.');
    assert.equal(await page.evaluate(() => document.cookie), '');
    await page.locator('#account').getByRole('link', { name: 'Log in' }).click();
    await waitForPath(page, '/login');
    const login = page.getByRole('form', { name: 'Log in' });
    await login.getByRole('textbox', { name: 'Username' }).fill('carol');
    await login.getByLabel('Password', { exact: true }).fill('not the password');
    await login.getByRole('button', { name: 'Log in' }).click();
    await waitForText(login.getByRole('alert'), 'The username or password is wrong.');
    await login.getByLabel('Password', { exact: true }).fill('a long enough password');
    await login.getByRole('button', { name: 'Log in' }).click();
    await waitForPath(page, '/');
    await waitForText(page.locator('#account'), 'carol');

    // A taken username is shown on the username field.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#account').getByRole('link', { name: 'Sign up' }).click();
    const again = page.getByRole('form', { name: 'Create an account' });
    await again.getByRole('textbox', { name: 'Username' }).fill('Carol');
    await again.getByLabel('Password', { exact: true }).fill('another long password');
    await again.getByRole('button', { name: 'Sign up' }).click();
    await again.locator('.field[data-field="username"] .field-error').waitFor();

    assert.deepEqual(page.problems(), []);
    assert.deepEqual(page.dialogs(), []);
  } finally {
    await context.close();
  }
});

test('a validation message shows the characters it quotes as code, without backticks', async () => {
  const context = await signedInContext(browser, server.url, null);
  try {
    const page = await openPage(context, '/signup');
    const form = page.getByRole('form', { name: 'Create an account' });
    await form.getByRole('textbox', { name: 'Username' }).fill('no spaces');
    await form.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await form.getByRole('button', { name: 'Sign up' }).click();

    // The server says "… digits, `_`, `.` and `-`": a person sees _ . and - set as code.
    const error = form.locator('.field[data-field="username"] .field-error');
    await waitForText(error, 'may contain only letters');
    const shown = await error.innerText();
    assert.ok(!shown.includes('`'), `no backticks: ${shown}`);
    assert.deepEqual(await error.locator('code').allTextContents(), ['_', '.', '-']);
    assert.deepEqual(page.problems(), []);
  } finally {
    await context.close();
  }
});

test('signed out, the home page says what Parley is; signed in, it does not', async () => {
  await registerUser(server.url, 'erin');
  const guest = await signedInContext(browser, server.url, null);
  const erin = await signedInContext(browser, server.url, 'erin');
  try {
    const page = await openPage(guest, '/');
    const intro = page.getByRole('region', { name: 'About Parley' });
    await waitForText(intro, 'Parley is shared notes, with comments, and chat rooms, all live.');
    assert.equal(await intro.getByRole('link', { name: 'Sign up' }).getAttribute('href'), '/signup?next=%2F');
    assert.equal(await intro.getByRole('link', { name: 'Log in' }).getAttribute('href'), '/login?next=%2F');

    const signedIn = await openPage(erin, '/');
    await waitForText(signedIn.locator('#account'), 'erin');
    assert.equal(await signedIn.getByRole('region', { name: 'About Parley' }).count(), 0);
    assert.deepEqual([...page.problems(), ...signedIn.problems()], []);
  } finally {
    await guest.close();
    await erin.close();
  }
});

test('signed out, loading a page logs no console error and asks no question that fails', async () => {
  const token = await registerUser(server.url, 'fay');
  await apiCall(server.url, 'POST', '/api/notes', { token, body: { key: 'hello', title: 'Hello', body: 'hi' } });
  const context = await signedInContext(browser, server.url, null);
  try {
    for (const pagePath of ['/', '/notes/hello', '/chat', '/chat/general', '/login', '/signup']) {
      const page = await openPage(context, null);
      const failed = [];
      page.on('response', (response) => {
        if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
      });
      await goto(page, pagePath);
      await page.locator('#account').getByRole('link', { name: 'Log in' }).waitFor();
      // Unlike problems(), consoleErrors() keeps Chromium's "Failed to load resource" lines.
      assert.deepEqual(page.consoleErrors(), [], pagePath);
      assert.deepEqual(failed, [], pagePath);
      await page.close();
    }
  } finally {
    await context.close();
  }
});

test('a session that ended elsewhere shows signed out after one question, then asks no more', async () => {
  await registerUser(server.url, 'gus');
  const context = await signedInContext(browser, server.url, 'gus');
  try {
    const page = await openPage(context, '/');
    await waitForText(page.locator('#account'), 'gus');
    // Log out through the API: the page's sign of a session stays, the session does not.
    const response = await context.request.delete('/api/sessions/current');
    assert.equal(response.status(), 204);
    await goto(page, '/');
    await page.locator('#account').getByRole('link', { name: 'Log in' }).waitFor();
    assert.equal(await page.evaluate(() => document.cookie), '');
    const asked = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/users/me') asked.push(request.url());
    });
    await goto(page, '/chat');
    await page.locator('#account').getByRole('link', { name: 'Log in' }).waitFor();
    assert.deepEqual(asked, []);
    assert.deepEqual(page.problems(), []);
  } finally {
    await context.close();
  }
});

test('signed out, pages are readable and point to the login for writing', async () => {
  const context = await signedInContext(browser, server.url, null);
  try {
    const page = await openPage(context, '/');
    await page.getByRole('heading', { name: 'Notes' }).waitFor();
    await page.getByRole('link', { name: 'Log in' }).first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create note' }).count(), 0);
    await page.goto('/chat/general');
    await waitForView(page);
    const link = page.locator('.composer').getByRole('link', { name: 'Log in' });
    assert.equal(await link.getAttribute('href'), '/login?next=%2Fchat%2Fgeneral');
    await page.goto('/no/such/page');
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    assert.deepEqual(page.problems(), []);
  } finally {
    await context.close();
  }
});

// Browsers drop the tab, so a check of the first characters let `/\t/evil.example/phish`
// through as the other site `//evil.example/phish`.
const HOSTILE_NEXT = [
  '%2F%09%2Fevil.example%2Fphish',
  '%2F%0A%2Fevil.example%2Fphish',
  '%2F%5Cevil.example%2Fphish',
  '%2F%2Fevil.example%2Fphish',
  'https%3A%2F%2Fevil.example%2Fphish',
];

test('?next= never leads to another site, signed in or not', async () => {
  await registerUser(server.url, 'dora');
  const signedIn = await signedInContext(browser, server.url, 'dora');
  try {
    const page = await openPage(signedIn, '/');
    for (const next of HOSTILE_NEXT) {
      await page.goto(`/login?next=${next}`);
      await waitForView(page);
      const link = page.getByRole('link', { name: 'Continue' });
      assert.equal(await link.getAttribute('href'), '/', next);
    }
    // A page of this site is kept, with its query.
    await page.goto('/login?next=%2Fchat%2Fgeneral%3Fx%3D1');
    await waitForView(page);
    assert.equal(await page.getByRole('link', { name: 'Continue' }).getAttribute('href'), '/chat/general?x=1');
    assert.deepEqual(page.problems(), []);
  } finally {
    await signedIn.close();
  }

  const signedOut = await signedInContext(browser, server.url, null);
  try {
    const page = await openPage(signedOut, `/login?next=${HOSTILE_NEXT[0]}`);
    const login = page.getByRole('form', { name: 'Log in' });
    await login.getByRole('textbox', { name: 'Username' }).fill('dora');
    await login.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await login.getByRole('button', { name: 'Log in' }).click();
    await waitForPath(page, '/');
    await waitForText(page.locator('#account'), 'dora');
    assert.equal(new URL(page.url()).origin, new URL(server.url).origin);
    assert.deepEqual(page.problems(), []);
  } finally {
    await signedOut.close();
  }
});
