// Who is signed in. The session itself is the HttpOnly cookie; this module only asks
// `GET /api/users/me` and remembers the answer for the header and the pages.

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

/** Asks the server who is signed in. A 401 means nobody. */
export async function refreshUser() {
  try {
    const { data } = await api(paths.me);
    setUser(data);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) setUser(null);
    else throw error;
  }
  return user;
}

export async function logIn(username, password) {
  const { data } = await api(paths.sessions, { method: 'POST', body: { username, password } });
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
  setUser(null);
}

/**
 * Call when a write answers 401: the session ended elsewhere (expired, or logged out in
 * another tab). The header and the page then show the signed-out state.
 */
export function sessionEnded() {
  if (user !== null) setUser(null);
}
