// Saves screenshots of the main pages to docs/screenshots/ (1280x800 and 390x844), from
// a real server with sample data. Run: npm run screenshots (from clients/web/).

import fs from 'node:fs';
import path from 'node:path';
import {
  REPO_DIR, startServer, launchBrowser, registerUser, signedInContext, openPage, waitForText, apiCall,
} from '../tests/harness.js';

const OUT = path.join(REPO_DIR, 'docs/screenshots');
const SIZES = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 },
};

async function seed(url) {
  const alice = await registerUser(url, 'alice');
  const bob = await registerUser(url, 'bob');
  const maria = await registerUser(url, 'maria');
  Object.assign(tokens, { alice, bob, maria });
  const post = (token, apiPath, body) => apiCall(url, 'POST', apiPath, { token, body });
  await post(alice, '/api/notes', {
    key: 'lisbon-trip',
    title: 'Trip to Lisbon',
    body: 'Flights: Friday 9:40, back Monday evening.\n\nTo see:\n- Alfama and the castle\n- Tram 28 early in the morning\n- Pastéis de Belém\n- LX Factory on Sunday\n\nBudget: about 450 € each, hotel included.',
  });
  await post(bob, '/api/notes', { key: 'book-club', title: 'Book club picks', body: 'March: Middlemarch.\nApril: The Left Hand of Darkness.' });
  await post(alice, '/api/notes', { key: 'groceries', title: 'Groceries', body: 'oat milk, eggs, bread, coffee' });
  await post(maria, '/api/notes', { key: 'release-notes', title: 'Release notes draft', body: 'Live updates on every page.' });
  await post(bob, '/api/notes', { key: 'team-offsite', title: 'Team offsite ideas', body: 'Hiking, or a cooking class?' });
  await post(bob, '/api/rooms/notes/lisbon-trip/messages', { message: 'Tram 28 gets packed after 9, so early is right.' });
  await post(maria, '/api/rooms/notes/lisbon-trip/messages', { message: 'Can we add Sintra on Saturday? It is 40 minutes by train.' });
  await post(alice, '/api/rooms/notes/lisbon-trip/messages', { message: 'Good idea, I will add it.' });
  const lines = [
    [bob, 'morning all'],
    [maria, 'Morning! Did the deploy go out?'],
    [alice, 'Yes, 10 minutes ago. Live updates are on for everyone.'],
    [bob, 'Nice. The notes page refreshed itself while I was reading it!'],
    [maria, 'Same here. And comments show up at once on the other laptop.'],
    [alice, 'If anything looks off, post it here.'],
  ];
  for (const [token, message] of lines) await post(token, '/api/rooms/chat/general/messages', { message });
}

const tokens = {};

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const server = await startServer();
  const browser = await launchBrowser();
  const saved = [];
  try {
    await seed(server.url);
    for (const [size, options] of Object.entries(SIZES)) {
      const guest = await signedInContext(browser, server.url, null, options);
      const alice = await signedInContext(browser, server.url, 'alice', options);
      // Others in the chat room and on the note, so that the pages show who is here.
      const others = [];
      for (const name of ['bob', 'maria']) {
        const context = await signedInContext(browser, server.url, name, options);
        others.push(context);
        const chat = await openPage(context, '/chat/general');
        await chat.locator('.presence .member-name', { hasText: name }).waitFor();
        await openPage(context, '/notes/lisbon-trip');
      }
      const maria = tokens.maria;
      const shots = [
        ['login', guest, '/login', (page) => page.getByRole('heading', { name: 'Welcome to Parley' }).waitFor()],
        ['notes-home', alice, '/', (page) => waitForText(page.locator('.note-item'), 'Trip to Lisbon')],
        ['note', alice, '/notes/lisbon-trip', async (page) => {
          await waitForText(page.locator('.message'), 'Sintra');
          await waitForText(page.locator('.viewers'), 'maria');
        }],
        ['chat', alice, '/chat/general', async (page) => {
          await waitForText(page.locator('.message'), 'post it here');
          await apiCall(server.url, 'POST', '/api/rooms/chat/general/typing', { token: maria });
          await waitForText(page.locator('.typing'), 'maria is typing…');
        }],
      ];
      for (const [name, context, pagePath, ready] of shots) {
        const page = await openPage(context, pagePath);
        await ready(page);
        await page.evaluate(() => document.activeElement?.blur());
        const file = path.join(OUT, `${name}-${size}.png`);
        await page.screenshot({ path: file });
        if (page.problems().length) throw new Error(`${pagePath}: ${page.problems().join('; ')}`);
        saved.push(path.relative(REPO_DIR, file));
        await page.close();
      }
      await guest.close();
      await alice.close();
      for (const context of others) await context.close();
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  for (const file of saved) console.log(file);
}

await main();
