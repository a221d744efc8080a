// The notes home page: every note (title, author, last update), live; and a form to
// write a new one.

import { h, replaceChildren, timeElement, setTime, notePath, compareTimes, setMessage } from '../dom.js';
import { api, paths, ApiError, describeError, isAbort } from '../api.js';
import { field, formError, showError, clearErrors, busy } from '../forms.js';
import { LiveStream } from '../live.js';
import { currentUser, sessionEnded } from '../session.js';
import { navigate } from '../router.js';

const PAGE_SIZE = 100;

/** A key suggested from a title: "Trip to Lisbon!" becomes "trip-to-lisbon". */
export function suggestKey(title) {
  return title.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100).replace(/-+$/, '');
}

function flashItem(item) {
  item.classList.remove('is-fresh');
  // Restart the highlight animation (reading offsetWidth forces a style flush).
  void item.offsetWidth;
  item.classList.add('is-fresh');
}

/** What Parley is, for a visitor who is not signed in. */
function intro() {
  return h('section', { class: 'intro', 'aria-label': 'About Parley' },
    h('p', { class: 'intro-lead' }, h('strong', { text: 'Parley' }),
      ' is shared notes, with comments, and chat rooms, all live.'),
    h('p', { text: 'What anyone writes, edits or deletes shows up on every open page at once, in the order it happened. '
      + 'A page that loses its connection catches up on everything it missed.' }),
    h('p', { class: 'intro-actions' },
      h('a', { href: '/signup?next=%2F', class: 'button-primary' }, 'Sign up'),
      h('a', { href: '/login?next=%2F', class: 'button-secondary' }, 'Log in'),
      h('span', { class: 'muted', text: 'Reading needs no account; writing does.' })));
}

function newNoteForm(signal) {
  const title = field({ label: 'Title', name: 'title', attrs: { maxlength: '200', required: true } });
  const key = field({
    label: 'Key', name: 'key',
    hint: 'The note’s address: /notes/<key>. Letters, digits, - _ . and ~; it cannot change later.',
    attrs: { maxlength: '100', autocapitalize: 'none', spellcheck: 'false', required: true },
  });
  const body = field({
    label: 'Text', name: 'body', multiline: true,
    attrs: { rows: '6', maxlength: '50000' },
  });
  let keyEdited = false;
  key.control.addEventListener('input', () => { keyEdited = key.control.value !== ''; });
  title.control.addEventListener('input', () => {
    if (!keyEdited) key.control.value = suggestKey(title.control.value);
  });
  const form = h('form', { class: 'new-note-form', novalidate: true },
    title, key, body, formError(),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button-primary' }, 'Create note')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    await busy(form, async () => {
      let note;
      try {
        ({ data: note } = await api(paths.notes, {
          method: 'POST',
          body: { key: key.control.value.trim(), title: title.control.value, body: body.control.value },
          signal,
        }));
      } catch (error) {
        if (isAbort(error)) return;
        if (error instanceof ApiError && error.status === 401) sessionEnded();
        showError(form, error, {
          fieldFor: (e) => (e instanceof ApiError && e.is('conflict') ? 'key' : null),
        });
        return;
      }
      await navigate(notePath(note.key), { flash: `Note “${note.title}” created.` });
    });
  });
  return form;
}

export async function homeView({ root, signal }) {
  document.title = 'Notes · Parley';
  const items = new Map(); // key -> {summary, item, title, time, author}
  let nextCursor = null;
  let lastFetchedKey = '';

  const list = h('ul', { class: 'note-list', 'aria-labelledby': 'notes-heading' });
  const empty = h('p', { class: 'empty', hidden: true },
    currentUser() ? 'No notes yet. Write the first one.' : 'No notes yet.');
  const moreError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const more = h('button', { type: 'button', class: 'button-secondary', hidden: true }, 'Show more notes');
  const count = h('span', { class: 'count' });

  function updateEmpty() {
    empty.hidden = items.size > 0;
    count.textContent = items.size ? ` (${items.size}${nextCursor ? '+' : ''})` : '';
  }

  function fillItem(record, summary) {
    record.summary = summary;
    record.title.textContent = summary.title;
    record.author.textContent = summary.author;
    setTime(record.time, summary.updated_at);
  }

  function buildItem(summary) {
    const title = h('span', { class: 'note-title' });
    const author = h('span', { class: 'note-author' });
    const time = timeElement(summary.updated_at);
    const item = h('li', { class: 'note-item', dataset: { key: summary.key } },
      h('a', { class: 'note-link', href: notePath(summary.key) }, title),
      h('p', { class: 'note-meta' },
        h('span', {}, 'by ', author),
        h('span', { class: 'sep', 'aria-hidden': 'true', text: ' · ' }),
        h('span', {}, 'updated ', time)));
    const record = { item, title, author, time };
    fillItem(record, summary);
    return record;
  }

  function insertSorted(record, key) {
    let before = null;
    for (const child of list.children) {
      if (child.dataset.key > key) {
        before = child;
        break;
      }
    }
    list.insertBefore(record.item, before);
  }

  /** Shows a note (new or changed). Skips a change older than what is shown. */
  function upsert(summary, { highlight = false } = {}) {
    const existing = items.get(summary.key);
    if (existing) {
      if (compareTimes(summary.updated_at, existing.summary.updated_at) < 0) return;
      const changed = summary.title !== existing.summary.title
        || summary.updated_at !== existing.summary.updated_at;
      fillItem(existing, summary);
      if (highlight && changed) flashItem(existing.item);
      return;
    }
    // Keys after the last page loaded arrive with "Show more notes".
    if (nextCursor !== null && summary.key > lastFetchedKey) return;
    const record = buildItem(summary);
    items.set(summary.key, record);
    insertSorted(record, summary.key);
    if (highlight) flashItem(record.item);
    updateEmpty();
  }

  function removeNote(key) {
    const record = items.get(key);
    if (!record) return;
    record.item.remove();
    items.delete(key);
    updateEmpty();
  }

  function showPage(page, { replace }) {
    if (replace) {
      items.clear();
      list.replaceChildren();
      lastFetchedKey = '';
    }
    nextCursor = null; // so that upsert places every item of this page
    for (const summary of page.items) {
      upsert(summary);
      if (summary.key > lastFetchedKey) lastFetchedKey = summary.key;
    }
    nextCursor = page.next_cursor ?? null;
    more.hidden = nextCursor === null;
    updateEmpty();
  }

  async function fetchPage(cursor) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) query.set('cursor', cursor);
    return api(`${paths.notes}?${query}`, { signal });
  }

  more.addEventListener('click', async () => {
    more.disabled = true;
    moreError.hidden = true;
    try {
      const { data } = await fetchPage(nextCursor);
      showPage(data, { replace: false });
    } catch (error) {
      if (isAbort(error)) return;
      setMessage(moreError, describeError(error));
      moreError.hidden = false;
    } finally {
      more.disabled = false;
    }
  });

  const { data, headers } = await fetchPage(null);
  showPage(data, { replace: true });

  const user = currentUser();
  const aside = h('section', { class: 'card new-note', 'aria-labelledby': 'new-note-heading' },
    h('h2', { id: 'new-note-heading', text: 'New note' }),
    user ? newNoteForm(signal)
      : h('p', {}, h('a', { href: '/login?next=%2F' }, 'Log in'), ' or ',
        h('a', { href: '/signup?next=%2F' }, 'sign up'), ' to write a note.'));

  replaceChildren(root,
    user ? null : intro(),
    h('div', { class: 'home-grid' },
      h('section', { class: 'notes-panel', 'aria-labelledby': 'notes-heading' },
        h('div', { class: 'section-head' },
          h('h1', { id: 'notes-heading' }, 'Notes', count),
          h('p', { class: 'muted', text: 'Changes by anyone show up here as they happen.' })),
        list, empty, moreError, more),
      aside));

  new LiveStream(paths.namespaceEvents('notes'), {
    since: headers.get('Stream-Position'),
    types: ['note.created', 'note.updated', 'note.deleted'],
    signal,
    handlers: {
      'note.created': (note) => upsert(note, { highlight: true }),
      'note.updated': (note) => upsert(note, { highlight: true }),
      'note.deleted': ({ key }) => removeNote(key),
    },
    onReset: async () => {
      const { data: fresh } = await fetchPage(null);
      showPage(fresh, { replace: true });
    },
  });
}
