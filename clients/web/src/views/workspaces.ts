// The signed-in person's workspaces: open one, or create a new one.
import { describeError } from '../api';
import { busy, h, showError } from '../dom';
import { WebCreateWorkspaceDocument, WebWorkspacesDocument } from '../gql/graphql';
import { authed } from '../session';

export function workspacesView(open: (workspaceId: string) => void): HTMLElement {
  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'error', hidden: true });
  const list = h('ul', { class: 'workspaces', 'data-testid': 'workspace-list' }, h('li', { class: 'hint' }, 'Loading…'));
  const name = h('input', { name: 'name', required: true, maxlength: '100', placeholder: 'New workspace', 'data-testid': 'workspace-name' });
  const form = h('form', { class: 'inline' }, name, h('button', { type: 'submit', 'data-testid': 'workspace-create' }, 'Create'));

  const load = async () => {
    const { me } = await authed(WebWorkspacesDocument, {});
    list.replaceChildren(
      ...(me?.workspaces.length
        ? me.workspaces.map((w) =>
            h(
              'li',
              {},
              h('button', { class: 'link', 'data-testid': 'workspace-link', 'data-workspace-id': w.id, onclick: () => open(w.id) }, w.name),
              h('span', { class: 'role' }, w.myRole.toLowerCase()),
            ),
          )
        : [h('li', { class: 'hint' }, 'No workspaces yet: create one, or ask to be added to one.')]),
    );
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    showError(error, undefined);
    void busy(form, () => authed(WebCreateWorkspaceDocument, { name: name.value.trim() }))
      .then(({ createWorkspace }) => open(createWorkspace.id))
      .catch((e: unknown) => showError(error, describeError(e)));
  });
  load().catch((e: unknown) => showError(error, describeError(e)));
  return h('main', {}, h('h1', {}, 'Workspaces'), error, list, form);
}
