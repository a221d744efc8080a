// Parley's web front end: the entry point. Plain ES modules, no build step.

import { h, replaceChildren, messageNodes } from './js/dom.js';
import { describeError } from './js/api.js';
import { route, notFound, start, render, flash } from './js/router.js';
import { refreshUser, onUserChange, logOut } from './js/session.js';
import { homeView } from './js/views/home.js';
import { noteView } from './js/views/note.js';
import { authView } from './js/views/auth.js';
import { chatIndexView, chatRoomView } from './js/views/chat.js';
import { notFoundView } from './js/views/not-found.js';

route(/^\/$/, homeView);
route(/^\/notes$/, homeView);
route(/^\/notes\/(?<key>[^/]+)$/, noteView);
route(/^\/login$/, authView);
route(/^\/signup$/, authView);
route(/^\/chat$/, chatIndexView);
route(/^\/chat\/(?<room>[^/]+)$/, chatRoomView);
notFound(notFoundView);

function renderAccount(user) {
  const area = document.getElementById('account');
  if (user) {
    const button = h('button', { type: 'button', class: 'button-secondary button-small' }, 'Log out');
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await logOut();
        flash('You are logged out.');
        await render({ focus: true });
      } catch (error) {
        button.disabled = false;
        flash(messageNodes(`Could not log out. ${describeError(error)}`), 'error');
        await render();
      }
    });
    replaceChildren(area,
      h('span', { class: 'account-name' }, h('span', { class: 'visually-hidden' }, 'Signed in as '),
        h('span', { class: 'avatar', 'aria-hidden': 'true', text: user.username.charAt(0).toUpperCase() }),
        h('span', { text: user.username })),
      button);
  } else {
    replaceChildren(area,
      h('a', { href: '/login', class: 'button-secondary button-small' }, 'Log in'),
      h('a', { href: '/signup', class: 'button-primary button-small' }, 'Sign up'));
  }
}

onUserChange(renderAccount);

try {
  await refreshUser();
} catch (error) {
  renderAccount(null);
  flash(messageNodes(`Could not check who is signed in. ${describeError(error)}`), 'error');
}
await start();
