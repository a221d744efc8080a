// Live updates over Server-Sent Events.
//
// The browser's EventSource reconnects by itself after a dropped stream and sends the
// last `id:` it saw as `Last-Event-ID`, so the server replays what was missed. It gives
// up only when the server answers with an error status (say 503 while it shuts down):
// then this module opens a new EventSource itself, passing the last id as
// `?last_event_id=`. While any stream is down, the header shows "Reconnecting…".
//
// A stream carries the session cookie (a signed-in page is present in the room), and the
// server refuses a cookie whose session has ended (401) rather than treating it as
// anonymous. EventSource does not say why it was refused, so a signed-in page that is
// refused asks who is signed in: a session that ended shows as signed out at once.

import { EVENT_TYPES, EPHEMERAL_TYPES } from './event-types.js';
import { currentUser, refreshUser } from './session.js';

// ---- the "reconnecting…" indicator ---------------------------------------------------

const down = new Set();

function showConnectionState() {
  const el = document.getElementById('connection');
  if (!el) return;
  const reconnecting = down.size > 0;
  el.textContent = reconnecting ? 'Reconnecting…' : '';
  el.classList.toggle('is-down', reconnecting);
}

function markDown(stream) {
  down.add(stream);
  showConnectionState();
}

function markUp(stream) {
  if (down.delete(stream)) showConnectionState();
}

// ---- one stream ----------------------------------------------------------------------

/**
 * Follows one event stream.
 *
 * - `path`: `/api/rooms/{ns}/{room}/events` or `/api/rooms/{ns}/events`.
 * - `since`: the `Stream-Position` of the read that the page shows, so that every change
 *   after that read arrives, in order (some may already be shown: handlers skip those).
 * - `types`: optional list of event types to receive.
 * - `handlers`: `{'note.updated': (data) => …, …}`. Ephemeral events (`typing`,
 *   `presence.count`) have no `id:`: they never move the position the stream resumes from.
 * - `onReady`: `(data) => …` on every `ready` (each connection, after any replay); a room's
 *   stream carries `presence` (who is here at that position) and `you` (the signed-in user).
 * - `onReset`: async; refetches the page's state after an `event: reset`. Events that
 *   arrive meanwhile are held back and applied after it.
 * - `signal`: an AbortSignal that closes the stream (the page was left).
 */
export class LiveStream {
  constructor(path, { since, types, handlers, onReady, onReset, signal }) {
    this.path = path;
    this.types = types;
    this.handlers = handlers;
    this.onReady = onReady;
    this.onReset = onReset;
    this.lastEventId = since || '';
    this.source = null;
    this.retryTimer = null;
    this.failures = 0;
    this.held = null; // events held back while onReset runs
    this.closed = false;
    signal?.addEventListener('abort', () => this.close(), { once: true });
    if (!signal?.aborted) this.connect();
  }

  url() {
    const url = new URL(this.path, window.location.origin);
    if (this.types?.length) url.searchParams.set('types', this.types.join(','));
    if (this.lastEventId) url.searchParams.set('last_event_id', this.lastEventId);
    return url.pathname + url.search;
  }

  connect() {
    if (this.closed) return;
    const source = new EventSource(this.url(), { withCredentials: false });
    this.source = source;
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (event) => this.receive(type, event));
    }
    source.addEventListener('ready', (event) => {
      this.remember(event);
      this.failures = 0;
      markUp(this);
      if (this.onReady) this.receive('ready', event);
    });
    source.addEventListener('reset', (event) => {
      this.remember(event);
      this.reset();
    });
    source.addEventListener('open', () => markUp(this));
    source.addEventListener('error', () => {
      if (this.closed || source !== this.source) return;
      markDown(this);
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an error status such as 503): retry ourselves, later.
        this.scheduleReconnect();
        checkSession();
      }
      // Otherwise (CONNECTING) the browser retries by itself, with Last-Event-ID.
    });
  }

  scheduleReconnect() {
    this.source?.close();
    this.source = null;
    clearTimeout(this.retryTimer);
    this.failures += 1;
    const base = Math.min(30_000, 1_000 * 2 ** Math.min(this.failures, 5));
    const delay = base / 2 + Math.random() * (base / 2);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  remember(event) {
    if (event.lastEventId) this.lastEventId = event.lastEventId;
  }

  receive(type, event) {
    const ephemeral = EPHEMERAL_TYPES.includes(type);
    if (!ephemeral) this.remember(event);
    let data;
    try {
      data = JSON.parse(event.data);
    } catch (error) {
      console.error(`Parley: ignored a ${type} event whose data is not JSON`, error);
      return;
    }
    // A typing signal is about now: shown at once, even while a reset refetches.
    if (this.held && !ephemeral) {
      this.held.push([type, data]);
      return;
    }
    this.dispatch(type, data);
  }

  dispatch(type, data) {
    const handler = type === 'ready' ? this.onReady : this.handlers[type];
    if (!handler) return;
    try {
      handler(data);
    } catch (error) {
      console.error(`Parley: the ${type} handler failed`, error);
    }
  }

  async reset() {
    if (this.held) return; // a refetch is already running; it will see the newer state
    this.held = [];
    try {
      await this.onReset?.();
    } catch (error) {
      if (error?.name !== 'AbortError') console.error('Parley: refetching after reset failed', error);
    }
    const held = this.held;
    this.held = null;
    for (const [type, data] of held) this.dispatch(type, data);
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.source?.close();
    this.source = null;
    markUp(this);
  }
}

// A refused stream of a signed-in page may be a session that ended elsewhere (expired,
// logged out, the server's data replaced): one question settles it, and the header and
// the pages show signed out. Asked once at a time, and never when signed out.
let checking = null;
function checkSession() {
  if (checking || !currentUser()) return;
  checking = refreshUser()
    .catch(() => {}) // a network error: the stream's own retry will tell
    .finally(() => { checking = null; });
}

// Coming back online: retry a stream that gave up at once, rather than after its backoff.
window.addEventListener('online', () => {
  for (const stream of down) {
    if (!stream.closed && stream.source === null) {
      clearTimeout(stream.retryTimer);
      stream.connect();
    }
  }
});
