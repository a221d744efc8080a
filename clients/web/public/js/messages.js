// A live list of messages: the comments under a note, or the lines of a chat room.
// Oldest at the top, newest at the bottom, older pages on demand; post, edit your own,
// delete your own (or, with `canDelete`, others' too). Every text goes in as text.

import { h, uid, timeElement, replaceChildren, compareTimes, setMessage } from './dom.js';
import { api, paths, ApiError, describeError, isAbort } from './api.js';
import { field, formError, showError, clearErrors, busy } from './forms.js';
import { currentUser, sessionEnded } from './session.js';

const PAGE_SIZE = 50;

export function sameUser(a, b) {
  return typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
}

/**
 * - `namespace`, `room`: where the messages live.
 * - `noun`: 'comment' or 'message', for labels.
 * - `canDelete(message)`: may the signed-in user delete it (besides their own)?
 * - `chat`: a chat room: a one-line box, and the list scrolls to the newest line.
 * - `signal`: aborts fetches when the page is left.
 */
export function createThread({ namespace, room, noun = 'message', canDelete = () => false, chat = false, signal }) {
  const records = new Map(); // id -> {message, item, text, meta}
  let nextCursor = null;
  let oldestFetchedId = Infinity;

  const plural = `${noun}s`;
  const list = h('ol', { class: 'message-list' });
  // An empty chat room is most of the screen: it says what to do, in its middle.
  const empty = chat
    ? h('div', { class: 'empty empty-chat' },
      h('p', { class: 'empty-title', text: 'No messages yet — say hello' }),
      h('p', { text: 'Everyone in this room sees each message the moment it is sent.' }))
    : h('p', { class: 'empty', text: `No ${plural} yet.` });
  const olderButton = h('button', {
    type: 'button', class: 'button-secondary load-older', hidden: true,
    onclick: () => loadOlder(),
  }, `Show older ${plural}`);
  const olderError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const log = h('div', {
    class: chat ? 'message-log chat-log' : 'message-log',
    role: 'log',
    'aria-label': chat ? 'Messages' : 'Comments',
    tabindex: chat ? '0' : null,
  }, olderButton, olderError, empty, list);
  const composer = buildComposer();
  const element = h('div', { class: chat ? 'thread thread-chat' : 'thread' }, log, composer);

  function me() {
    return currentUser()?.username ?? null;
  }

  // ---- rendering ----------------------------------------------------------------------

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 120;
  }

  function scrollToBottom() {
    if (chat) log.scrollTop = log.scrollHeight;
  }

  function updateEmpty() {
    empty.hidden = records.size > 0;
    log.classList.toggle('is-empty', records.size === 0);
  }

  function metaChildren(message) {
    const edited = message.updated_at !== message.created_at;
    return [
      h('span', { class: 'message-author', text: message.from }),
      sameUser(message.from, me()) ? h('span', { class: 'badge', text: 'you' }) : null,
      ' ',
      timeElement(message.created_at),
      edited ? h('span', { class: 'edited', title: `edited ${new Date(message.updated_at).toLocaleString()}`, text: ' · edited' }) : null,
    ];
  }

  function buildItem(message) {
    const textId = uid('message-text');
    const text = h('p', { class: 'message-text', id: textId, text: message.message });
    const meta = h('p', { class: 'message-meta' }, metaChildren(message));
    const actions = h('div', { class: 'message-actions' });
    const item = h('li', {
      class: sameUser(message.from, me()) ? 'message is-own' : 'message',
      dataset: { id: String(message.id) },
    }, meta, text, actions);
    const record = { message, item, text, meta, actions, editing: null };
    renderActions(record);
    return record;
  }

  function renderActions(record) {
    const { message, text } = record;
    const mine = sameUser(message.from, me());
    const buttons = [];
    if (mine && !record.editing) {
      buttons.push(h('button', {
        type: 'button', class: 'button-quiet', 'aria-describedby': text.id,
        'aria-label': `Edit ${noun}`, onclick: () => startEditing(record),
      }, 'Edit'));
    }
    if ((mine || canDelete(message)) && !record.editing) {
      buttons.push(h('button', {
        type: 'button', class: 'button-quiet danger', 'aria-describedby': text.id,
        'aria-label': `Delete ${noun}`, onclick: () => confirmDelete(record),
      }, 'Delete'));
    }
    replaceChildren(record.actions, buttons);
    record.actions.classList.remove('is-confirming');
    record.actions.hidden = buttons.length === 0;
  }

  function insert(message) {
    const record = buildItem(message);
    records.set(message.id, record);
    let before = null;
    for (const child of list.children) {
      if (Number(child.dataset.id) > message.id) {
        before = child;
        break;
      }
    }
    list.insertBefore(record.item, before);
    updateEmpty();
    return record;
  }

  function update(record, message) {
    record.message = message;
    record.text.textContent = message.message;
    replaceChildren(record.meta, metaChildren(message));
    if (record.editing) record.editing.stale = true;
  }

  function remove(id) {
    const record = records.get(id);
    if (!record) return;
    const hadFocus = record.item.contains(document.activeElement);
    record.item.remove();
    records.delete(id);
    updateEmpty();
    if (hadFocus) (composer.querySelector('textarea, input') ?? log).focus();
  }

  /** Adds or refreshes a message, skipping one older than what is shown. */
  function upsert(message, { own = false } = {}) {
    if (!message || message.namespace !== namespace || message.room !== room) return;
    const existing = records.get(message.id);
    if (existing) {
      if (compareTimes(message.updated_at, existing.message.updated_at) >= 0) update(existing, message);
      return;
    }
    // Not shown: part of an older page not loaded yet? Then it is not ours to show.
    if (nextCursor !== null && message.id < oldestFetchedId) return;
    const stick = chat && (own || nearBottom());
    insert(message);
    if (stick) scrollToBottom();
  }

  function showPage(page, { replace }) {
    if (replace) {
      records.clear();
      list.replaceChildren();
      oldestFetchedId = Infinity;
    }
    for (const message of page.items) {
      oldestFetchedId = Math.min(oldestFetchedId, message.id);
      const existing = records.get(message.id);
      if (existing) update(existing, message);
      else insert(message);
    }
    nextCursor = page.next_cursor ?? null;
    olderButton.hidden = nextCursor === null;
    updateEmpty();
  }

  // ---- loading ------------------------------------------------------------------------

  async function fetchPage(cursor) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) query.set('cursor', cursor);
    return api(`${paths.messages(namespace, room)}?${query}`, { signal });
  }

  /** Shows the newest page; resolves to its Stream-Position. */
  async function load() {
    const { data, headers } = await fetchPage(null);
    showPage(data, { replace: true });
    requestAnimationFrame(scrollToBottom);
    return headers.get('Stream-Position');
  }

  async function loadOlder() {
    if (!nextCursor) return;
    olderButton.disabled = true;
    olderError.hidden = true;
    const before = log.scrollHeight - log.scrollTop;
    try {
      const { data } = await fetchPage(nextCursor);
      showPage(data, { replace: false });
      if (chat) log.scrollTop = log.scrollHeight - before;
    } catch (error) {
      if (isAbort(error)) return;
      setMessage(olderError, describeError(error));
      olderError.hidden = false;
    } finally {
      olderButton.disabled = false;
    }
  }

  /**
   * A line from the room itself ("bob joined", a greeting), after the newest line. It is
   * not a message: no author, no actions, and a reload of the page does not bring it back.
   */
  function notice(text, { kind = 'info' } = {}) {
    const stick = chat && nearBottom();
    list.append(h('li', { class: `notice notice-${kind}` }, text));
    if (stick) scrollToBottom();
  }

  // ---- event stream -------------------------------------------------------------------

  function apply(type, data) {
    if (type === 'message.created' || type === 'message.updated') upsert(data);
    else if (type === 'message.deleted') {
      if (data.namespace === namespace && data.room === room) remove(data.id);
    }
  }

  // ---- writing ------------------------------------------------------------------------

  function handleWriteError(error, form) {
    if (error instanceof ApiError && error.status === 401) sessionEnded();
    if (form) showError(form, error);
  }

  function buildComposer() {
    if (!me()) {
      const next = window.location.pathname;
      return h('p', { class: 'composer composer-signed-out' },
        h('a', { href: `/login?next=${encodeURIComponent(next)}` }, 'Log in'),
        ` to post a ${noun}.`);
    }
    const label = chat ? 'Message' : 'Add a comment';
    const input = field({
      label,
      name: 'message',
      multiline: !chat,
      hint: chat ? null : 'Ctrl+Enter posts.',
      attrs: chat
        ? { autocomplete: 'off', maxlength: '1024', placeholder: 'Write a message…' }
        : { rows: '3', maxlength: '1024', placeholder: 'Write a comment…' },
    });
    const form = h('form', { class: chat ? 'composer composer-chat' : 'composer', novalidate: true },
      input,
      formError(),
      h('div', { class: 'form-actions' },
        h('button', { type: 'submit', class: 'button-primary' }, chat ? 'Send' : 'Post comment')));
    const control = input.control;
    control.addEventListener('keydown', (event) => {
      if (!chat && event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = control.value;
      if (!text.trim()) {
        showError(form, new ApiError(422, {
          errors: [{ field: 'message', message: `write a ${noun} first` }],
        }));
        return;
      }
      clearErrors(form);
      await busy(form, async () => {
        try {
          const { data } = await api(paths.messages(namespace, room), {
            method: 'POST', body: { message: text }, signal,
          });
          control.value = '';
          upsert(data, { own: true });
        } catch (error) {
          if (isAbort(error)) return;
          handleWriteError(error, form);
        }
      });
      control.focus();
    });
    return form;
  }

  function startEditing(record) {
    const input = field({
      label: `Edit your ${noun}`,
      name: 'message',
      value: record.message.message,
      multiline: true,
      attrs: { rows: '2', maxlength: '1024' },
    });
    input.classList.add('field-compact');
    const cancel = () => stopEditing(record);
    const form = h('form', { class: 'edit-message', novalidate: true },
      input,
      formError(),
      h('div', { class: 'form-actions' },
        h('button', { type: 'submit', class: 'button-primary' }, 'Save'),
        h('button', { type: 'button', class: 'button-secondary', onclick: cancel }, 'Cancel')));
    input.control.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        cancel();
      } else if (event.key === 'Enter' && (event.ctrlKey || event.metaKey || chat) && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      await busy(form, async () => {
        try {
          const { data } = await api(paths.message(record.message.id), {
            method: 'PATCH', body: { message: input.control.value }, signal,
          });
          stopEditing(record);
          upsert(data);
        } catch (error) {
          if (isAbort(error)) return;
          if (error instanceof ApiError && error.status === 404) {
            remove(record.message.id);
            return;
          }
          handleWriteError(error, form);
        }
      });
    });
    record.editing = { form };
    record.text.hidden = true;
    record.text.after(form);
    renderActions(record);
    input.control.focus();
    input.control.select();
  }

  function stopEditing(record) {
    if (!record.editing) return;
    record.editing.form.remove();
    record.editing = null;
    record.text.hidden = false;
    renderActions(record);
    record.actions.querySelector('button')?.focus();
  }

  function confirmDelete(record) {
    const question = h('span', { class: 'confirm-text', text: `Delete this ${noun}?` });
    const error = h('span', { class: 'form-error', role: 'alert', hidden: true });
    const yes = h('button', { type: 'button', class: 'button-danger' }, 'Yes, delete');
    const no = h('button', { type: 'button', class: 'button-secondary' }, 'Cancel');
    no.addEventListener('click', () => {
      renderActions(record);
      record.actions.querySelector('.danger')?.focus();
    });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await api(paths.message(record.message.id), { method: 'DELETE', signal });
        remove(record.message.id);
      } catch (err) {
        if (isAbort(err)) return;
        if (err instanceof ApiError && err.status === 404) {
          remove(record.message.id);
          return;
        }
        if (err instanceof ApiError && err.status === 401) sessionEnded();
        setMessage(error, describeError(err));
        error.hidden = false;
        yes.disabled = false;
      }
    });
    replaceChildren(record.actions, question, yes, no, error);
    record.actions.classList.add('is-confirming');
    record.actions.hidden = false;
    no.focus();
  }

  /** Re-evaluates who may edit and delete (after the note's author becomes known). */
  function refreshPermissions() {
    for (const record of records.values()) if (!record.editing) renderActions(record);
  }

  return { element, composer, load, reload: load, apply, notice, refreshPermissions };
}
