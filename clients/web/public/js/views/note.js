// /notes/<key>: one note, live; its author can edit it (If-Match) and delete it; comments
// below, live. When the note is deleted, by anyone, the page goes back home.

import { h, replaceChildren, timeElement, setTime, setMessage } from '../dom.js';
import { api, paths, ApiError, describeError, isAbort } from '../api.js';
import { field, formError, showError, clearErrors, busy } from '../forms.js';
import { LiveStream } from '../live.js';
import { createThread, sameUser } from '../messages.js';
import { RoomPresence, memberList } from '../presence.js';
import { currentUser, sessionEnded } from '../session.js';
import { navigate } from '../router.js';

function notFound(root, key) {
  document.title = 'Note not found · Parley';
  replaceChildren(root,
    h('p', { class: 'breadcrumb' }, h('a', { href: '/' }, 'All notes')),
    h('h1', { text: 'Note not found' }),
    h('p', {}, 'There is no note with the key ', h('code', { text: key }), '. It may have been deleted.'),
    h('p', {}, h('a', { href: '/' }, 'See all notes')));
}

export async function noteView({ root, params, signal }) {
  const key = params.key;
  let note;
  let etag;
  let since;
  try {
    const response = await api(paths.note(key), { signal });
    note = response.data;
    etag = response.headers.get('ETag');
    since = response.headers.get('Stream-Position');
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      notFound(root, key);
      return;
    }
    throw error;
  }

  const me = () => currentUser()?.username ?? null;
  const isAuthor = () => sameUser(note.author, me());
  let deletingHere = false;

  // ---- the note -----------------------------------------------------------------------

  const title = h('h1', { id: 'note-title', class: 'note-heading' });
  const author = h('span', { class: 'note-author' });
  const created = timeElement(note.created_at);
  const updated = timeElement(note.updated_at);
  const version = h('span', { class: 'note-version' });
  const body = h('div', { class: 'note-body' });
  const liveStatus = h('p', { class: 'live-status', role: 'status', 'aria-live': 'polite' });
  const meta = h('p', { class: 'note-meta' },
    h('span', {}, 'by ', author),
    h('span', { class: 'sep', 'aria-hidden': 'true', text: ' · ' }),
    h('span', {}, 'created ', created),
    h('span', { class: 'sep', 'aria-hidden': 'true', text: ' · ' }),
    h('span', { class: 'note-updated' }, 'updated ', updated),
    h('span', { class: 'sep', 'aria-hidden': 'true', text: ' · ' }),
    version);
  const view = h('div', { class: 'note-view' }, title, meta, body);
  const actions = h('div', { class: 'note-actions' });
  const article = h('article', { class: 'card note', 'aria-labelledby': 'note-title' },
    view, actions, liveStatus);

  // Status lines ("saved", "just updated") fade out after a while.
  let statusTimer = null;
  function setStatus(text) {
    setMessage(liveStatus, text);
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => { liveStatus.textContent = ''; }, 12_000);
  }
  signal.addEventListener('abort', () => clearTimeout(statusTimer), { once: true });

  function showNote(next) {
    note = next;
    document.title = `${note.title} · Parley`;
    title.textContent = note.title;
    author.textContent = note.author;
    setTime(created, note.created_at);
    setTime(updated, note.updated_at);
    version.textContent = `version ${note.version}`;
    if (note.body) {
      body.textContent = note.body;
      body.classList.remove('is-empty');
    } else {
      body.textContent = 'This note has no text.';
      body.classList.add('is-empty');
    }
  }

  function highlight() {
    article.classList.remove('is-fresh');
    void article.offsetWidth;
    article.classList.add('is-fresh');
  }

  /** Reads the note again; returns false when it is gone. */
  async function refetch() {
    try {
      const response = await api(paths.note(key), {
        signal, headers: etag ? { 'If-None-Match': etag } : {},
      });
      if (response.status === 200) {
        showNote(response.data);
        etag = response.headers.get('ETag');
      }
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return false;
      throw error;
    }
  }

  // ---- actions: edit and delete (author only) -----------------------------------------

  let editor = null;

  function renderActions() {
    if (!isAuthor() || editor) {
      actions.replaceChildren();
      actions.hidden = true;
      return;
    }
    actions.hidden = false;
    replaceChildren(actions,
      h('button', { type: 'button', class: 'button-secondary', onclick: startEditing }, 'Edit note'),
      h('button', { type: 'button', class: 'button-danger-outline', onclick: confirmDelete }, 'Delete note'));
  }

  function goHomeDeleted(message) {
    return navigate('/', { replace: true, flash: message });
  }

  async function startEditing() {
    const button = actions.querySelector('button');
    if (button) button.disabled = true;
    try {
      // Edit what is really the latest version, and hold its ETag for If-Match.
      if (!(await refetch())) {
        await goHomeDeleted(`The note “${note.title}” was deleted.`);
        return;
      }
    } catch (error) {
      if (isAbort(error)) return;
      setStatus(`Could not open the editor. ${describeError(error)}`);
      if (button) button.disabled = false;
      return;
    }
    openEditor();
  }

  function openEditor() {
    const titleField = field({ label: 'Title', name: 'title', value: note.title, attrs: { maxlength: '200', required: true } });
    const bodyField = field({ label: 'Text', name: 'body', value: note.body, multiline: true, attrs: { rows: '10', maxlength: '50000' } });
    const conflict = h('div', { class: 'conflict', hidden: true });
    const form = h('form', { class: 'note-editor', novalidate: true, 'aria-label': 'Edit note' },
      h('h2', { class: 'visually-hidden', text: 'Edit note' }),
      titleField, bodyField, conflict, formError(),
      h('div', { class: 'form-actions' },
        h('button', { type: 'submit', class: 'button-primary' }, 'Save changes'),
        h('button', { type: 'button', class: 'button-secondary', onclick: () => closeEditor() }, 'Cancel')));
    form.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        closeEditor();
      }
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      await busy(form, () => save(form, titleField.control.value, bodyField.control.value, conflict));
    });
    editor = form;
    view.hidden = true;
    view.after(form);
    renderActions();
    titleField.control.focus();
  }

  function closeEditor({ focus = true } = {}) {
    if (!editor) return;
    editor.remove();
    editor = null;
    view.hidden = false;
    renderActions();
    if (focus) actions.querySelector('button')?.focus();
  }

  async function save(form, newTitle, newBody, conflict) {
    try {
      const response = await api(paths.note(key), {
        method: 'PUT',
        headers: etag ? { 'If-Match': etag } : {},
        body: { title: newTitle, body: newBody },
        signal,
      });
      showNote(response.data);
      etag = response.headers.get('ETag');
      closeEditor();
      setStatus('Your changes are saved.');
    } catch (error) {
      if (isAbort(error)) return;
      if (error instanceof ApiError && error.status === 412) {
        await showConflict(form, conflict);
        return;
      }
      if (error instanceof ApiError && error.status === 404) {
        await goHomeDeleted(`The note “${note.title}” was deleted while you were editing it.`);
        return;
      }
      if (error instanceof ApiError && error.status === 401) sessionEnded();
      showError(form, error);
    }
  }

  /** After a 412: show what the note is now, keep the draft, and let Save overwrite. */
  async function showConflict(form, conflict) {
    let gone = false;
    try {
      gone = !(await refetch());
    } catch (error) {
      if (isAbort(error)) return;
      showError(form, error);
      return;
    }
    if (gone) {
      await goHomeDeleted(`The note “${note.title}” was deleted while you were editing it.`);
      return;
    }
    replaceChildren(conflict,
      h('p', { class: 'conflict-title', role: 'alert' },
        h('strong', { text: 'Not saved: this note was changed since you started editing. ' }),
        `It is now version ${note.version}. Your text is still in the form. `
        + 'Compare it with the latest version below, then save again to replace that version with yours, or cancel to keep it.'),
      h('details', { class: 'conflict-latest', open: true },
        h('summary', { text: `Latest version (${note.version})` }),
        h('p', { class: 'conflict-latest-title', text: note.title }),
        h('p', { class: 'conflict-latest-body', text: note.body || '(no text)' })));
    conflict.hidden = false;
    form.querySelector('button[type="submit"]').textContent = 'Save my version';
  }

  function confirmDelete() {
    const yes = h('button', { type: 'button', class: 'button-danger' }, 'Yes, delete it');
    const no = h('button', { type: 'button', class: 'button-secondary' }, 'Cancel');
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    no.addEventListener('click', () => {
      renderActions();
      actions.querySelector('.button-danger-outline')?.focus();
    });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      deletingHere = true;
      try {
        await api(paths.note(key), { method: 'DELETE', signal });
      } catch (err) {
        deletingHere = false;
        if (isAbort(err)) return;
        if (err instanceof ApiError && err.status === 404) {
          await goHomeDeleted(`The note “${note.title}” was already deleted.`);
          return;
        }
        if (err instanceof ApiError && err.status === 401) sessionEnded();
        setMessage(error, describeError(err));
        error.hidden = false;
        yes.disabled = false;
        return;
      }
      await goHomeDeleted(`You deleted the note “${note.title}”.`);
    });
    replaceChildren(actions,
      h('p', { class: 'confirm-text', text: 'Delete this note and all its comments? This cannot be undone.' }),
      yes, no, error);
    no.focus();
  }

  // ---- comments -----------------------------------------------------------------------

  const thread = createThread({
    namespace: 'notes',
    room: key,
    noun: 'comment',
    canDelete: () => isAuthor(),
    signal,
  });
  await thread.load();

  // ---- who else is viewing it ------------------------------------------------------------

  // An open note page is a stream of the note's room, which the server counts as presence.
  const viewers = memberList({ label: 'Also viewing', others: true });
  const presence = new RoomPresence({ onChange: (state) => viewers.render(state) });
  presence.you = me(); // until `ready` says who this stream is
  viewers.element.classList.add('viewers');

  showNote(note);
  renderActions();
  replaceChildren(root,
    h('p', { class: 'breadcrumb' }, h('a', { href: '/' }, 'All notes')),
    article,
    viewers.element,
    h('section', { class: 'comments', 'aria-labelledby': 'comments-heading' },
      h('h2', { id: 'comments-heading', text: 'Comments' }),
      thread.element));

  // ---- live ---------------------------------------------------------------------------

  function noteChanged(next) {
    if (next.key !== key) return;
    const recreated = next.created_at !== note.created_at;
    if (!recreated && next.version <= note.version) return; // already shown
    // The ETag stays the one last read: an edit started before this change must not
    // overwrite it unawares (its If-Match fails), and a new edit reads the note again.
    showNote(next);
    highlight();
    setStatus(editor
      ? `This note was just changed elsewhere (now version ${next.version}). Saving will show you that version first.`
      : `This note was just updated (version ${next.version}).`);
  }

  new LiveStream(paths.roomEvents('notes', key), {
    since,
    signal,
    handlers: {
      'note.created': noteChanged,
      'note.updated': noteChanged,
      'note.deleted': (data) => {
        if (data.key !== key || deletingHere) return;
        goHomeDeleted(`The note “${note.title}” was deleted.`);
      },
      'message.created': (data) => thread.apply('message.created', data),
      'message.updated': (data) => thread.apply('message.updated', data),
      'message.deleted': (data) => thread.apply('message.deleted', data),
      'presence.joined': (data) => presence.joined(data),
      'presence.left': (data) => presence.left(data),
      'presence.count': (data) => presence.counted(data),
    },
    onReady: (data) => presence.ready(data),
    onReset: async () => {
      if (!(await refetch())) {
        await goHomeDeleted(`The note “${note.title}” was deleted.`);
        return;
      }
      await thread.reload();
    },
  });
}
