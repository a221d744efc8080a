// Who is signed in. The session itself is the HttpOnly cookie; this module only asks
// `GET /api/users/me` and remembers the answer for the header and the pages.
//
// Signed out, that question would be answered 401, and a browser logs every failed
// request in its console, whatever the page does with the answer. So the page keeps its
// own evidence of a session: at log-in it sets the cookie `parley_signed_in=1`, readable
// by scripts, which expires with the session, and it asks the server only when that
// cookie is there. It holds no secret: the token stays in the HttpOnly cookie.

import { api, paths, ApiError } from './api.js';

let user = null;
const listeners = new Set();

/** The signed-in user (`{username, created_at}`), or null. */
export function currentUser() {
  return user;
}

export function onUserChange(listener) {
  listeners.add(listener);
}

function setUser(next) {
  user = next;
  for (const listener of listeners) listener(user);
}

const HINT = 'parley_signed_in';

function hasSessionHint() {
  return document.cookie.split(';').some((pair) => pair.trim().startsWith(`${HINT}=`));
}

/**
 * Remembers that a session exists for `seconds` (for the browser's session when unknown),
 * or forgets it (0). Like the server's cookie, it counts from now on the browser's clock,
 * so a clock set wrong cannot end it early.
 */
function setSessionHint(seconds) {
  const lifetime = Number.isFinite(seconds) ? `; Max-Age=${Math.max(0, Math.ceil(seconds))}` : '';
  document.cookie = `${HINT}=1; Path=/; SameSite=Strict${lifetime}`;
}

/** A session's lifetime in seconds: its `expires_at` minus the server's `Date`. */
function sessionSeconds(expiresAt, headers) {
  return (Date.parse(expiresAt) - Date.parse(headers.get('Date') ?? '')) / 1000;
}

/** Asks the server who is signed in, if there may be a session at all. A 401 means nobody. */
export async function refreshUser() {
  if (!hasSessionHint()) {
    setUser(null);
    return user;
  }
  try {
    const { data } = await api(paths.me);
    setUser(data);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) throw error;
    setSessionHint(0);
    setUser(null);
  }
  return user;
}

export async function logIn(username, password) {
  const { data, headers } = await api(paths.sessions, { method: 'POST', body: { username, password } });
  setSessionHint(sessionSeconds(data.expires_at, headers));
  // The cookie is set; ask for the user, as every later page load will.
  setUser({ username: data.username });
  await refreshUser().catch(() => {});
  return user;
}

export async function signUp(username, password) {
  await api(paths.users, { method: 'POST', body: { username, password } });
  return logIn(username, password);
}

export async function logOut() {
  try {
    await api(paths.currentSession, { method: 'DELETE' });
  } catch (error) {
    // 401: the session had already ended, which is what we wanted.
    if (!(error instanceof ApiError && error.status === 401)) throw error;
  }
  setSessionHint(0);
  setUser(null);
}

/**
 * Call when a write answers 401: the session ended elsewhere (expired, or logged out in
 * another tab). The header and the page then show the signed-out state.
 */
export function sessionEnded() {
  setSessionHint(0);
  if (user !== null) setUser(null);
}
