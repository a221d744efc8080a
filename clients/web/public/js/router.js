// Client-side routing. The server answers every extension-less path with index.html; this
// module picks the view for `location.pathname`, and turns same-origin link clicks into
// history navigation so that pages switch without a reload.

import { h, replaceChildren, messageNodes } from './dom.js';
import { describeError, isAbort } from './api.js';

const routes = [];
let current = null; // the AbortController of the view on screen
let pendingFlash = null;

/**
 * Registers a view. `pattern` is a RegExp matched against the whole pathname; its named
 * groups, percent-decoded, become `params`. A view is
 * `async ({root, params, query, signal}) => void`: it fills `root`, and undoes anything
 * long-lived (streams, timers) when `signal` aborts.
 */
export function route(pattern, view) {
  routes.push({ pattern, view });
}

let fallbackView = null;
export function notFound(view) {
  fallbackView = view;
}

function decode(value) {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

function match(pathname) {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  for (const { pattern, view } of routes) {
    const found = pattern.exec(path);
    if (!found) continue;
    const params = {};
    let ok = true;
    for (const [name, raw] of Object.entries(found.groups ?? {})) {
      const value = decode(raw);
      if (value === null) ok = false;
      params[name] = value;
    }
    if (ok) return { view, params };
  }
  return { view: fallbackView, params: {} };
}

/**
 * Shows a short message at the top of the next page (or this one, if none follows): a
 * string, shown as text, or nodes (such as `messageNodes` of an API message).
 */
export function flash(text, kind = 'info') {
  pendingFlash = { text, kind };
}

function showFlash() {
  const area = document.getElementById('flash');
  if (!pendingFlash) {
    area.replaceChildren();
    return;
  }
  const { text, kind } = pendingFlash;
  pendingFlash = null;
  const box = h('div', { class: `flash flash-${kind}` },
    h('p', {}, text),
    h('button', {
      type: 'button', class: 'button-quiet', 'aria-label': 'Dismiss message',
      onclick: () => box.remove(),
    }, '×'));
  replaceChildren(area, box);
}

function markNavigation(pathname) {
  const section = pathname.startsWith('/chat') ? 'chat'
    : pathname === '/' || pathname.startsWith('/notes') ? 'notes' : '';
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** Shows the view for the current URL. `focus` moves focus to its heading. */
export async function render({ focus = false } = {}) {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const root = document.getElementById('view');
  root.setAttribute('aria-busy', 'true');
  replaceChildren(root, h('p', { class: 'loading', text: 'Loading…' }));
  showFlash();
  markNavigation(window.location.pathname);
  const { view, params } = match(window.location.pathname);
  const query = new URLSearchParams(window.location.search);
  try {
    await view({ root, params, query, signal: controller.signal });
  } catch (error) {
    if (controller.signal.aborted || isAbort(error)) return;
    console.error('Parley: the page failed to load', error);
    document.title = 'Error · Parley';
    replaceChildren(root,
      h('h1', { tabindex: '-1', text: 'This page could not be shown' }),
      h('p', { class: 'form-error', role: 'alert' }, messageNodes(describeError(error))),
      h('p', {}, h('button', { type: 'button', onclick: () => render({ focus: true }) }, 'Try again')));
  }
  if (controller.signal.aborted) return;
  root.removeAttribute('aria-busy');
  if (focus) {
    const heading = root.querySelector('h1');
    if (heading) {
      if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: false });
    }
    window.scrollTo(0, 0);
  }
}

/** Goes to `url` (same origin), adding a history entry unless `replace`. */
export function navigate(url, { replace = false, flash: message, kind } = {}) {
  if (message) flash(message, kind);
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  return render({ focus: true });
}

/** Starts routing: intercepts link clicks and the back/forward buttons. */
export function start() {
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest?.('a[href]');
    if (!link || link.target || link.hasAttribute('download')) return;
    const url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin) return;
    if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/docs')) return;
    const last = url.pathname.split('/').pop();
    if (last.includes('.')) return; // a file, not a page
    if (url.pathname === window.location.pathname && url.search === window.location.search && url.hash) {
      return; // an in-page anchor such as the skip link
    }
    event.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
  window.addEventListener('popstate', () => render({ focus: true }));
  return render();
}
