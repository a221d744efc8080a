// /chat: pick a room. /chat/<room>: the room's messages, live, and a message box.

import { h, replaceChildren, chatPath } from '../dom.js';
import { paths, ApiError } from '../api.js';
import { field, formError, showError } from '../forms.js';
import { LiveStream } from '../live.js';
import { createThread } from '../messages.js';
import { navigate } from '../router.js';

const NAMESPACE = 'chat';
const RECENT_KEY = 'parley.recentRooms';
const SUGGESTED = ['general', 'random', 'help'];

function recentRooms() {
  try {
    const rooms = JSON.parse(window.localStorage.getItem(RECENT_KEY) ?? '[]');
    return Array.isArray(rooms) ? rooms.filter((room) => typeof room === 'string') : [];
  } catch {
    return [];
  }
}

function rememberRoom(room) {
  try {
    const rooms = [room, ...recentRooms().filter((r) => r !== room)].slice(0, 8);
    window.localStorage.setItem(RECENT_KEY, JSON.stringify(rooms));
  } catch {
    // Storage may be unavailable (private mode); the list is only a convenience.
  }
}

/** Why a room name cannot be used, or null. Mirrors the server's rule, plus URLs. */
function roomProblem(room) {
  if (!room) return 'enter a room name';
  if ([...room].length > 200) return 'must be at most 200 characters long';
  if (/[\u0000-\u001f\u007f-\u009f]/.test(room)) return 'must not contain control characters';
  if (room === '.' || room === '..') return 'cannot be “.” or “..”, which a browser cannot put in an address';
  return null;
}

function roomLink(room) {
  return h('li', {}, h('a', { href: chatPath(room), class: 'room-link' }, h('span', { 'aria-hidden': 'true', text: '# ' }), room));
}

export async function chatIndexView({ root }) {
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
  const recent = recentRooms();
  const rooms = [...recent, ...SUGGESTED.filter((room) => !recent.includes(room))];
  replaceChildren(root,
    h('div', { class: 'section-head' },
      h('h1', { text: 'Chat' }),
      h('p', { class: 'muted', text: 'Talk in real time. Everyone in a room sees each message as it is sent.' })),
    h('div', { class: 'chat-index' },
      form,
      h('section', { class: 'card', 'aria-labelledby': 'rooms-heading' },
        h('h2', { id: 'rooms-heading', text: recent.length ? 'Your rooms and suggestions' : 'Suggested rooms' }),
        h('ul', { class: 'room-list' }, rooms.map(roomLink)))));
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
  rememberRoom(room);
  replaceChildren(root,
    h('section', { class: 'chat-room', 'aria-labelledby': 'room-heading' },
      h('div', { class: 'chat-head' },
        h('p', { class: 'breadcrumb' }, h('a', { href: '/chat' }, 'All rooms')),
        h('h1', { id: 'room-heading' }, h('span', { class: 'room-hash', 'aria-hidden': 'true', text: '#' }), room)),
      thread.element));
  requestAnimationFrame(() => {
    const log = thread.element.querySelector('.message-log');
    log.scrollTop = log.scrollHeight;
  });
  new LiveStream(paths.roomEvents(NAMESPACE, room), {
    since,
    signal,
    types: ['message.created', 'message.updated', 'message.deleted'],
    handlers: {
      'message.created': (data) => thread.apply('message.created', data),
      'message.updated': (data) => thread.apply('message.updated', data),
      'message.deleted': (data) => thread.apply('message.deleted', data),
    },
    onReset: () => thread.reload(),
  });
}
