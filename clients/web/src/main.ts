// The Citadel web app: sign in, pick a workspace, work on its live todo board. Routes live in the
// URL's hash (#/ and #/w/<id>), so the app is static files behind any server that proxies /graphql.
import './style.css';
import { h } from './dom';
import { currentSession, onSessionEnded, signOut } from './session';
import { boardView } from './views/board';
import { signInView } from './views/sign-in';
import { workspacesView } from './views/workspaces';

const root = document.getElementById('app')!;
let disposeView: (() => void) | undefined;

function header(): HTMLElement {
  const session = currentSession();
  return h(
    'header',
    {},
    h('a', { href: '#/', class: 'brand' }, 'Citadel'),
    session
      ? h(
          'span',
          { class: 'who' },
          h('span', { 'data-testid': 'signed-in-as' }, session.user.name),
          h('button', { type: 'button', class: 'link', 'data-testid': 'signout', onclick: () => void signOut().then(() => route()) }, 'Sign out'),
        )
      : null,
  );
}

function show(view: HTMLElement, dispose?: () => void): void {
  disposeView?.();
  disposeView = dispose;
  root.replaceChildren(header(), view);
}

function route(notice?: string): void {
  if (!currentSession()) return show(signInView(() => route(), notice));
  const board = /^#\/w\/([^/]+)$/.exec(location.hash);
  if (board) {
    const { element, dispose } = boardView(decodeURIComponent(board[1]!), () => (location.hash = '#/'));
    return show(element, dispose);
  }
  show(workspacesView((id) => (location.hash = `#/w/${encodeURIComponent(id)}`)));
}

window.addEventListener('hashchange', () => route());
onSessionEnded((reason) => route(reason));
route();
