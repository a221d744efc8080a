// /chat: pick a room (the server lists those with messages or members). /chat/<room>: the
// room's messages, live, who is here, who is typing, and a message box.

import { h, replaceChildren, chatPath, timeElement, setMessage } from '../dom.js';
import { api, paths, ApiError, describeError, isAbort } from '../api.js';
import { field, formError, showError } from '../forms.js';
import { LiveStream } from '../live.js';
import { createThread } from '../messages.js';
import { RoomPresence, memberList, typingIndicator, typingSender } from '../presence.js';
import { currentUser } from '../session.js';
import { navigate } from '../router.js';

const NAMESPACE = 'chat';
const ROOMS_PAGE = 50;

/** Why a room name cannot be used, or null. Mirrors the server's rule, plus URLs. */
function roomProblem(room) {
  if (!room) return 'enter a room name';
  if ([...room].length > 200) return 'must be at most 200 characters long';
  if (/[\u0000-\u001f\u007f-\u009f]/.test(room)) return 'must not contain control characters';
  if (room === '.' || room === '..') return 'cannot be “.” or “..”, which a browser cannot put in an address';
  return null;
}

function roomItem({ room, members, last_activity: lastActivity }) {
  return h('li', { class: 'room-item' },
    h('a', { href: chatPath(room), class: 'room-link' }, h('span', { 'aria-hidden': 'true', text: '# ' }), room),
    h('span', { class: 'room-meta muted' },
      members > 0 ? h('span', { class: 'room-members', text: `${members} here` }) : null,
      members > 0 ? h('span', { class: 'sep', 'aria-hidden': 'true', text: ' · ' }) : null,
      'active ', timeElement(lastActivity)));
}

/** The rooms of the namespace, most recently active first, a page at a time. */
function roomDirectory(signal) {
  const list = h('ul', { class: 'room-list' });
  const empty = h('p', { class: 'empty', hidden: true, text: 'No rooms yet: join one by name, and it is listed here.' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const more = h('button', { type: 'button', class: 'button-secondary load-older', hidden: true }, 'Show more rooms');
  const element = h('section', { class: 'card', 'aria-labelledby': 'rooms-heading' },
    h('h2', { id: 'rooms-heading', text: 'Rooms' }), empty, list, error, more);
  let cursor = null;

  async function load() {
    const query = new URLSearchParams({ limit: String(ROOMS_PAGE) });
    if (cursor) query.set('cursor', cursor);
    more.disabled = true;
    error.hidden = true;
    try {
      const { data } = await api(`${paths.rooms(NAMESPACE)}?${query}`, { signal });
      list.append(...data.items.map(roomItem));
      cursor = data.next_cursor ?? null;
    } catch (err) {
      if (isAbort(err)) return;
      setMessage(error, `Could not list the rooms. ${describeError(err)}`);
      error.hidden = false;
    } finally {
      more.disabled = false;
      more.hidden = cursor === null;
      empty.hidden = list.children.length > 0 || !error.hidden;
    }
  }
  more.addEventListener('click', () => load());
  return { element, load };
}

export async function chatIndexView({ root, signal }) {
  document.title = 'Chat · Parley';
  const name = field({
    label: 'Room name', name: 'room',
    hint: 'Any name: a room exists as soon as someone opens it.',
    attrs: { maxlength: '200', autocapitalize: 'none', spellcheck: 'false', required: true },
  });
  const form = h('form', { class: 'card join-room', novalidate: true, 'aria-labelledby': 'join-heading' },
    h('h2', { id: 'join-heading', text: 'Join a room' }),
    name, formError(),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button-primary' }, 'Join')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const room = name.control.value.trim();
    const problem = roomProblem(room);
    if (problem) {
      showError(form, new ApiError(422, { errors: [{ field: 'room', message: problem }] }));
      return;
    }
    navigate(chatPath(room));
  });
  const directory = roomDirectory(signal);
  await directory.load();
  replaceChildren(root,
    h('div', { class: 'section-head' },
      h('h1', { text: 'Chat' }),
      h('p', { class: 'muted', text: 'Talk in real time. Everyone in a room sees each message as it is sent.' })),
    h('div', { class: 'chat-index' }, form, directory.element));
}

export async function chatRoomView({ root, params, signal }) {
  const room = params.room;
  document.title = `#${room} · Parley`;
  const problem = roomProblem(room);
  if (problem) {
    replaceChildren(root,
      h('h1', { text: 'No such room' }),
      h('p', { text: `A room name ${problem}.` }),
      h('p', {}, h('a', { href: '/chat' }, 'Choose another room')));
    return;
  }
  const thread = createThread({ namespace: NAMESPACE, room, noun: 'message', chat: true, signal });
  const since = await thread.load();

  // Who is here: exact from each `ready`, then joins and leaves (or counts, in a big room).
  const members = memberList({ label: 'Here now' });
  const presence = new RoomPresence({ onChange: (state) => members.render(state) });
  presence.you = currentUser()?.username ?? null; // until `ready` says who this stream is
  const typing = typingIndicator({ isYou: (user) => presence.isYou(user) });
  thread.element.insertBefore(typing.element, thread.composer);
  const control = thread.composer.querySelector('input');
  if (control) typingSender({ namespace: NAMESPACE, room, control, signal });
  signal.addEventListener('abort', () => typing.clear(), { once: true });
  let greeted = false;

  replaceChildren(root,
    h('section', { class: 'chat-room', 'aria-labelledby': 'room-heading' },
      h('div', { class: 'chat-head' },
        h('p', { class: 'breadcrumb' }, h('a', { href: '/chat' }, 'All rooms')),
        h('h1', { id: 'room-heading' }, h('span', { class: 'room-hash', 'aria-hidden': 'true', text: '#' }), room)),
      h('div', { class: 'chat-body' }, thread.element, members.element)));
  requestAnimationFrame(() => {
    const log = thread.element.querySelector('.message-log');
    log.scrollTop = log.scrollHeight;
  });
  new LiveStream(paths.roomEvents(NAMESPACE, room), {
    since,
    signal,
    types: [
      'message.created', 'message.updated', 'message.deleted',
      'presence.joined', 'presence.left', 'presence.count', 'typing',
    ],
    handlers: {
      'message.created': (data) => {
        typing.stop(data.from); // their message is here: they are no longer typing it
        thread.apply('message.created', data);
      },
      'message.updated': (data) => thread.apply('message.updated', data),
      'message.deleted': (data) => thread.apply('message.deleted', data),
      'presence.joined': (data) => {
        presence.joined(data);
        if (!presence.isYou(data.user)) thread.notice(`${data.user} joined`, { kind: 'joined' });
      },
      'presence.left': (data) => {
        presence.left(data);
        typing.stop(data.user);
        if (!presence.isYou(data.user)) thread.notice(`${data.user} left`, { kind: 'left' });
      },
      'presence.count': (data) => presence.counted(data),
      typing: (data) => typing.received(data),
    },
    onReady: (data) => {
      presence.ready(data);
      // The server greets the stream's user by name (`you`); once, not on every reconnect.
      if (!greeted && typeof data?.you === 'string') {
        greeted = true;
        thread.notice(`Hello ${data.you}, welcome to #${room}.`, { kind: 'greeting' });
      }
    },
    onReset: () => thread.reload(),
  });
}
