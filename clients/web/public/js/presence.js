// Who is in a room, live, and who is typing there.
//
// The server counts an open stream as presence: the page sends no heartbeat. The stream's
// `ready` carries the membership exactly at its position (`presence`) and who this stream
// belongs to (`you`); `presence.joined` / `presence.left` keep it current, in order with
// the room's messages. A large room sends `presence.count` instead, and then only the
// numbers are known. `typing` is ephemeral (no `id:`): it shows "bob is typing…" until
// `expires_in_ms` after the last one.

import { h, replaceChildren } from './dom.js';
import { api, paths, ApiError } from './api.js';
import { sameUser } from './messages.js';
import { currentUser, sessionEnded } from './session.js';

/** Names joined for a sentence: "bob", "bob and carol", "bob, carol and dan". */
export function listNames(names) {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * The membership of one room. `onChange(state)` runs after every change; `state` is
 * `{you, members: [{user, since}] sorted by name, anonymous, large, count}` where `count`
 * is the number of signed-in members (for a large room, the snapshot's `members_count`,
 * then each `presence.count`'s).
 */
export class RoomPresence {
  constructor({ onChange } = {}) {
    this.you = null;
    this.members = new Map(); // user -> {user, since}
    this.anonymous = 0;
    this.large = false;
    this.largeCount = 0;
    this.known = false; // a snapshot has arrived
    this.onChange = onChange;
  }

  get count() {
    return this.large ? this.largeCount : this.members.size;
  }

  state() {
    const members = [...this.members.values()].sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
    return { you: this.you, members, anonymous: this.anonymous, large: this.large, count: this.count };
  }

  changed() {
    try {
      this.onChange?.(this.state());
    } catch (error) {
      console.error('Parley: showing presence failed', error);
    }
  }

  /** `ready`'s data: replaces everything (it is exact at the stream's position). */
  ready(data) {
    if (data && typeof data.you === 'string') this.you = data.you;
    const snapshot = data?.presence;
    if (!snapshot || typeof snapshot !== 'object') return;
    this.members.clear();
    for (const member of Array.isArray(snapshot.members) ? snapshot.members : []) {
      if (typeof member?.user === 'string') this.members.set(member.user, { user: member.user, since: member.since });
    }
    this.anonymous = Number.isInteger(snapshot.anonymous) ? snapshot.anonymous : 0;
    this.large = snapshot.large === true;
    this.largeCount = Number.isInteger(snapshot.members_count) ? snapshot.members_count : this.members.size;
    this.known = true;
    this.changed();
  }

  joined(data) {
    if (typeof data?.user !== 'string') return;
    this.members.set(data.user, { user: data.user, since: data.since });
    this.changed();
  }

  left(data) {
    if (typeof data?.user !== 'string') return;
    this.members.delete(data.user);
    this.changed();
  }

  /** A large room: only the numbers; the names would be stale, so they are dropped. */
  counted(data) {
    if (!Number.isInteger(data?.members)) return;
    this.large = true;
    this.largeCount = data.members;
    this.anonymous = Number.isInteger(data.anonymous) ? data.anonymous : this.anonymous;
    this.members.clear();
    this.changed();
  }

  isYou(user) {
    return sameUser(user, this.you);
  }
}

/**
 * "Who is here": a list of names (you first, marked), and the guests (anonymous streams)
 * as a number. `others` drops you (the note page's "also viewing"). Returns
 * `{element, render(state)}`; the element is hidden while it has nothing to say.
 */
export function memberList({ label = 'Here now', others = false } = {}) {
  const heading = h('h2', { class: 'presence-heading', text: label });
  const list = h('ul', { class: 'member-list' });
  const extra = h('p', { class: 'member-extra muted' });
  const element = h('section', { class: 'presence', 'aria-label': label, hidden: true }, heading, list, extra);

  function render({ you, members, anonymous, large, count }) {
    const shown = members.filter((m) => !(others && sameUser(m.user, you)));
    const mine = shown.filter((m) => sameUser(m.user, you));
    const rest = shown.filter((m) => !sameUser(m.user, you));
    replaceChildren(list, [...mine, ...rest].map((m) => h('li', { class: 'member', dataset: { user: m.user } },
      h('span', { class: 'avatar', 'aria-hidden': 'true', text: m.user.charAt(0).toUpperCase() }),
      h('span', { class: 'member-name', text: m.user }),
      sameUser(m.user, you) ? h('span', { class: 'badge', text: 'you' }) : null)));
    list.hidden = shown.length === 0;
    const parts = [];
    if (large) parts.push(`${plural(count, 'member', 'members')} here`);
    if (anonymous > 0) parts.push(`${plural(anonymous, 'guest', 'guests')} reading`);
    extra.textContent = parts.join(' · ');
    extra.hidden = parts.length === 0;
    element.hidden = shown.length === 0 && parts.length === 0;
  }

  return { element, render };
}

/**
 * "bob is typing…": one timer per person, each reset by their next `typing` event.
 * `stop(user)` clears someone at once (their message arrived).
 */
export function typingIndicator({ isYou }) {
  const element = h('p', { class: 'typing', 'aria-live': 'polite' });
  const typing = new Map(); // user -> timeout id

  function render() {
    const names = [...typing.keys()];
    if (names.length === 0) element.textContent = '';
    else if (names.length > 3) element.textContent = `${names.length} people are typing…`;
    else element.textContent = `${listNames(names)} ${names.length === 1 ? 'is' : 'are'} typing…`;
  }

  function stop(user) {
    if (!typing.has(user)) return;
    clearTimeout(typing.get(user));
    typing.delete(user);
    render();
  }

  function received(data) {
    if (typeof data?.user !== 'string' || isYou(data.user)) return;
    const ms = Number.isFinite(data.expires_in_ms) ? Math.min(Math.max(data.expires_in_ms, 0), 60_000) : 5_000;
    clearTimeout(typing.get(data.user));
    typing.set(data.user, setTimeout(() => stop(data.user), ms));
    render();
  }

  function clear() {
    for (const timer of typing.values()) clearTimeout(timer);
    typing.clear();
    render();
  }

  return { element, received, stop, clear };
}

/**
 * How often the page repeats "typing" while you type: the server allows a burst of 5,
 * then one a second, per user, and others show it for `expires_in_ms` (5 s) after the
 * last one, so every 3 s keeps it on with room to spare.
 */
export const TYPING_INTERVAL_MS = 3_000;

/**
 * Tells the room that you are typing, from a text field's `input` events: at most one
 * `POST …/typing` per `intervalMs` (well inside the server's per-user limit, and often
 * enough to keep the indicator alive while you type), none for an empty field, and after
 * a 429 none before its `Retry-After`; a 401 means the session ended (the page shows
 * signed out, and sends no more). Failures are not shown: typing is a courtesy.
 */
export function typingSender({ namespace, room, control, signal, intervalMs = TYPING_INTERVAL_MS }) {
  let nextAllowed = 0;
  let inFlight = false;

  async function send() {
    const now = Date.now();
    if (inFlight || now < nextAllowed || !control.value.trim() || !currentUser()) return;
    inFlight = true;
    nextAllowed = now + intervalMs;
    try {
      await api(paths.typing(namespace, room), { method: 'POST', signal });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) sessionEnded();
      if (error instanceof ApiError && error.status === 429) {
        const seconds = Number(error.retryAfter);
        nextAllowed = Date.now() + (Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : intervalMs);
      }
    } finally {
      inFlight = false;
    }
  }

  control.addEventListener('input', () => void send());
}
