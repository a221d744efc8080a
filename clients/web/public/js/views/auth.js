// /login and /signup: both forms on one page (the one named in the URL comes first).

import { h, replaceChildren } from '../dom.js';
import { ApiError } from '../api.js';
import { field, formError, showError, clearErrors, busy } from '../forms.js';
import { currentUser, logIn, signUp } from '../session.js';
import { navigate } from '../router.js';

/**
 * Where to go after logging in: `?next=` if it is a page of this site, else home.
 *
 * Checked by resolving it as the browser will, not by looking at its first characters:
 * browsers drop tabs and newlines from URLs and read a backslash as `/`, so `/\t/evil.example`
 * is the other site `//evil.example`.
 */
function nextPage(query) {
  const next = query.get('next') ?? '';
  if (!next.startsWith('/') || /[\u0000-\u001f\u007f\\]/.test(next)) return '/';
  let url;
  try {
    url = new URL(next, window.location.origin);
  } catch {
    return '/';
  }
  if (url.origin !== window.location.origin || url.pathname.startsWith('/api/')) return '/';
  return url.pathname + url.search + url.hash;
}

function loginForm(query, signal) {
  const username = field({
    label: 'Username', name: 'username',
    attrs: { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true },
  });
  const password = field({
    label: 'Password', name: 'password', type: 'password',
    attrs: { autocomplete: 'current-password', required: true },
  });
  const form = h('form', { class: 'card auth-card', 'aria-labelledby': 'login-heading', novalidate: true },
    h('h2', { id: 'login-heading', text: 'Log in' }),
    username, password, formError(),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button-primary' }, 'Log in')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    await busy(form, async () => {
      try {
        await logIn(username.control.value.trim(), password.control.value);
      } catch (error) {
        if (signal.aborted) return;
        password.control.value = '';
        showError(form, error, {
          // Wrong, unknown or malformed credentials all get this 401.
          generalText: error instanceof ApiError && error.status === 401
            ? 'The username or password is wrong.' : undefined,
        });
        return;
      }
      await navigate(nextPage(query), { replace: true, flash: `Welcome back, ${currentUser()?.username ?? ''}!` });
    });
  });
  return form;
}

function signupForm(query, signal) {
  const username = field({
    label: 'Username', name: 'username',
    hint: '3 to 32 characters: letters, digits, _ . and -',
    attrs: { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true },
  });
  const password = field({
    label: 'Password', name: 'password', type: 'password',
    hint: 'At least 8 characters.',
    attrs: { autocomplete: 'new-password', required: true },
  });
  const form = h('form', { class: 'card auth-card', 'aria-labelledby': 'signup-heading', novalidate: true },
    h('h2', { id: 'signup-heading', text: 'Create an account' }),
    username, password, formError(),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button-primary' }, 'Sign up')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    await busy(form, async () => {
      try {
        await signUp(username.control.value.trim(), password.control.value);
      } catch (error) {
        if (signal.aborted) return;
        showError(form, error, {
          fieldFor: (e) => (e instanceof ApiError && e.is('conflict') ? 'username' : null),
        });
        return;
      }
      await navigate(nextPage(query), { replace: true, flash: `Welcome to Parley, ${currentUser()?.username ?? ''}!` });
    });
  });
  return form;
}

export async function authView({ root, query, signal }) {
  const signingUp = window.location.pathname === '/signup';
  document.title = `${signingUp ? 'Sign up' : 'Log in'} · Parley`;
  const user = currentUser();
  if (user) {
    replaceChildren(root,
      h('h1', { text: 'You are signed in' }),
      h('p', {}, 'You are signed in as ', h('strong', { text: user.username }),
        '. To use another account, log out first (the button at the top of the page).'),
      h('p', {}, h('a', { href: nextPage(query) }, 'Continue')));
    return;
  }
  const login = loginForm(query, signal);
  const signup = signupForm(query, signal);
  replaceChildren(root,
    h('div', { class: 'auth-intro' },
      h('h1', { text: signingUp ? 'Join Parley' : 'Welcome to Parley' }),
      h('p', { class: 'lead', text: 'Shared notes that update live, with comments, and chat rooms. Reading is open to everyone; log in to write.' })),
    h('div', { class: 'auth-grid' }, signingUp ? [signup, login] : [login, signup]));
}
