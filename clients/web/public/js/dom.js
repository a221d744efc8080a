// Small DOM helpers. Every piece of user data reaches the page as a text node or an
// attribute value set through the DOM API: nothing here parses HTML.

/**
 * Creates an element. `props` sets attributes (`class`, `for`, `aria-*`, …), a few
 * properties (`text`, `value`, `checked`, `dataset`) and `on<event>` listeners. Children
 * may be nodes, strings (added as text), arrays, or null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'value') el.value = value;
    else if (key === 'checked') el.checked = Boolean(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'style') {
      throw new Error('inline styles are blocked by the Content-Security-Policy: use a class');
    } else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, ...children);
  return el;
}

/** Appends children (nodes, strings as text, arrays; null and false are skipped). */
export function append(parent, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

/** Removes every child of `el`, then appends `children`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  return append(el, ...children);
}

/**
 * The API's messages quote literal characters in backticks, as Markdown does ("digits,
 * `_`, `.` and `-`"). A person should see the characters, not the backticks: each quoted
 * part becomes a `<code>` element (as text, like everything else). Returns nodes for
 * `h` and `append`; a lone backtick stays as it is.
 */
export function messageNodes(text) {
  return String(text ?? '').split(/`([^`\n]+)`/)
    .map((part, i) => (i % 2 === 1 ? h('code', { text: part }) : part))
    .filter((part) => part !== '');
}

/** Sets the content of `el` to an API message or an error sentence (see messageNodes). */
export function setMessage(el, text) {
  return replaceChildren(el, messageNodes(text));
}

let idCounter = 0;
/** A document-unique id, for `for`, `aria-describedby` and `aria-labelledby`. */
export function uid(prefix = 'id') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// ---- time ---------------------------------------------------------------------------

const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
const sameYearFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});
const otherYearFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric',
});
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "just now", "5 minutes ago", "3 hours ago", then a date. */
export function describeTime(iso, now = Date.now()) {
  const date = new Date(iso);
  const seconds = Math.round((now - date.getTime()) / 1000);
  if (Number.isNaN(seconds)) return iso;
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return relative.format(-minutes, 'minute');
  const hours = Math.round(minutes / 60);
  if (hours < 24) return relative.format(-hours, 'hour');
  if (date.getFullYear() === new Date(now).getFullYear()) return sameYearFormat.format(date);
  return otherYearFormat.format(date);
}

/**
 * Compares two RFC 3339 UTC timestamps exactly (to the microsecond, which Date cannot):
 * negative, zero or positive, like a sort comparator.
 */
export function compareTimes(a, b) {
  const split = (iso) => {
    const match = /^(.*?)(?:\.(\d+))?Z$/.exec(iso ?? '');
    return match ? [match[1], (match[2] ?? '').padEnd(9, '0')] : [iso ?? '', ''];
  };
  const [wholeA, fractionA] = split(a);
  const [wholeB, fractionB] = split(b);
  if (wholeA !== wholeB) return wholeA < wholeB ? -1 : 1;
  if (fractionA !== fractionB) return fractionA < fractionB ? -1 : 1;
  return 0;
}

/** A `<time>` showing a relative time, with the full date as its tooltip. */
export function timeElement(iso) {
  const el = h('time', { datetime: iso, title: fullFormat.format(new Date(iso)) });
  el.dataset.relative = '';
  el.textContent = describeTime(iso);
  return el;
}

/** Points an existing `<time>` at a new instant. */
export function setTime(el, iso) {
  el.setAttribute('datetime', iso);
  el.title = fullFormat.format(new Date(iso));
  el.textContent = describeTime(iso);
}

// Relative times ("2 minutes ago") drift: refresh them twice a minute.
setInterval(() => {
  const now = Date.now();
  for (const el of document.querySelectorAll('time[data-relative]')) {
    const text = describeTime(el.getAttribute('datetime'), now);
    if (el.textContent !== text) el.textContent = text;
  }
}, 30_000);

// ---- URLs ---------------------------------------------------------------------------

/**
 * One path segment of a page URL. Besides what encodeURIComponent escapes, dots are
 * escaped too: the server serves `index.html` only for paths whose last segment has no
 * dot, and a note key or room such as `v1.2` would otherwise be taken for a file.
 */
export function pageSegment(value) {
  return encodeURIComponent(value).replace(/\./g, '%2E');
}

export function notePath(key) {
  return `/notes/${pageSegment(key)}`;
}

export function chatPath(room) {
  return `/chat/${pageSegment(room)}`;
}
