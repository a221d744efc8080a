import { h, replaceChildren } from '../dom.js';

export async function notFoundView({ root }) {
  document.title = 'Not found · Parley';
  replaceChildren(root,
    h('h1', { text: 'Page not found' }),
    h('p', { text: 'There is no page at this address.' }),
    h('p', {}, h('a', { href: '/' }, 'Go to the notes'), ' or ', h('a', { href: '/chat' }, 'join a chat room'), '.'));
}
