// Sign up, log in and log out through the forms.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, signedInContext, openPage, waitForText, waitForPath, waitForView,
  registerUser, PASSWORD,
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
    // The session is the HttpOnly cookie: nothing in storage, nothing readable by scripts.
    assert.equal(await page.evaluate(() => window.localStorage.length + window.sessionStorage.length), 0);
    assert.equal(await page.evaluate(() => document.cookie), '');

    // Log out, then a wrong password, then the right one.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#account').getByRole('link', { name: 'Log in' }).waitFor();
    await waitForText(page.locator('.flash'), 'You are logged out.');
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
