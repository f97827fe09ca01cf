// One workspace's todo board: the todos with their assignee and status, a form to add one, and the
// live feed applying every change made anywhere (another tab, another person) without a reload.
import { describeError } from '../api';
import { applyEvent, upsert, type BoardTodo } from '../board-state';
import { busy, h, showError } from '../dom';
import {
  WebAssignTodoDocument,
  WebBoardDocument,
  WebCompleteTodoDocument,
  WebCreateTodoDocument,
  WebReopenTodoDocument,
  type WebBoardQuery,
} from '../gql/graphql';
import { subscribeToBoard, type LiveState } from '../live';
import { authed } from '../session';

type Workspace = NonNullable<WebBoardQuery['workspace']>;
type Member = Workspace['members'][number];

/** A random key so a retried create makes one todo; getRandomValues also works outside HTTPS, unlike randomUUID. */
const idempotencyKey = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

const STATE_TEXT: Record<LiveState, string> = { connecting: 'Connecting…', live: 'Live', ended: 'Not live' };

export function boardView(workspaceId: string, back: () => void): { element: HTMLElement; dispose(): void } {
  let todos: BoardTodo[] = [];
  let members: Member[] = [];
  let canWrite = false;

  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'error', hidden: true });
  const title = h('h1', { 'data-testid': 'board-title' }, 'Loading…');
  const liveText = h('span', { class: 'live-text' }, STATE_TEXT.connecting);
  const reconnect = h('button', { type: 'button', class: 'link', hidden: true, 'data-testid': 'live-reconnect' }, 'Reconnect');
  const live = h('p', { class: 'live', 'data-testid': 'live-status', 'data-state': 'connecting' }, h('span', { class: 'dot' }), liveText, reconnect);
  const list = h('ul', { class: 'todos', 'data-testid': 'todo-list' });
  const count = h('p', { class: 'hint', 'data-testid': 'todo-count' });
  const newTitle = h('input', { name: 'title', required: true, maxlength: '200', placeholder: 'What needs doing?', 'data-testid': 'todo-title-input' });
  const form = h('form', { class: 'inline' }, newTitle, h('button', { type: 'submit', 'data-testid': 'todo-create' }, 'Add'));

  const fail = (e: unknown) => showError(error, describeError(e));

  // One element per todo version: an unchanged todo keeps its element, so an event for another
  // todo does not close a select someone is using.
  let elements = new WeakMap<BoardTodo, HTMLElement>();
  const render = () => {
    const open = todos.filter((t) => t.status === 'OPEN').length;
    count.textContent = todos.length === 0 ? 'No todos yet.' : `${open} open, ${todos.length - open} done`;
    todos.forEach((todo, i) => {
      let element = elements.get(todo);
      if (!element) elements.set(todo, (element = todoItem(todo)));
      if (list.children[i] !== element) list.insertBefore(element, list.children[i] ?? null);
    });
    while (list.children.length > todos.length) list.lastElementChild!.remove();
    form.hidden = !canWrite;
  };
  /** Puts a todo's controls back as the data says (after a refused change). */
  const reset = (todo: BoardTodo) => {
    elements.delete(todo);
    render();
  };

  const todoItem = (todo: BoardTodo): HTMLElement => {
    const assignee = h(
      'select',
      { 'data-testid': 'todo-assignee', 'aria-label': `Assignee of ${todo.title}`, disabled: !canWrite },
      h('option', { value: '' }, 'Unassigned'),
      ...members.map((m) => h('option', { value: m.user.id, selected: m.user.id === todo.assignee?.id }, m.user.name)),
      // Someone no longer a member keeps their todos until they are reassigned.
      todo.assignee && !members.some((m) => m.user.id === todo.assignee!.id)
        ? h('option', { value: todo.assignee.id, selected: true }, todo.assignee.name)
        : null,
    );
    assignee.addEventListener('change', () => {
      authed(WebAssignTodoDocument, { id: todo.id, assigneeId: assignee.value || null })
        .then(({ assignTodo }) => update(assignTodo))
        .catch((e: unknown) => {
          fail(e);
          reset(todo);
        });
    });
    const done = todo.status === 'DONE';
    const toggle = h('button', { type: 'button', class: 'toggle', 'data-testid': 'todo-toggle', disabled: !canWrite }, done ? 'Reopen' : 'Complete');
    toggle.addEventListener('click', () => {
      toggle.disabled = true;
      const change = done
        ? authed(WebReopenTodoDocument, { id: todo.id }).then((r) => r.reopenTodo)
        : authed(WebCompleteTodoDocument, { id: todo.id }).then((r) => r.completeTodo);
      change.then(update).catch((e: unknown) => {
        fail(e);
        reset(todo);
      });
    });
    return h(
      'li',
      {
        class: done ? 'todo done' : 'todo',
        'data-testid': 'todo',
        'data-todo-id': todo.id,
        'data-status': todo.status,
        'data-assignee': todo.assignee?.name ?? '',
      },
      h('span', { class: 'todo-title', 'data-testid': 'todo-title' }, todo.title),
      assignee,
      h('span', { class: 'status', 'data-testid': 'todo-status' }, done ? 'Done' : 'Open'),
      toggle,
    );
  };

  const update = (todo: BoardTodo) => {
    showError(error, undefined);
    todos = upsert(todos, todo);
    render();
  };

  /** Reads every page of the board; events that arrived meanwhile are kept when newer. */
  const load = async () => {
    const read: BoardTodo[] = [];
    let after: string | null = null;
    let workspace: Workspace | null = null;
    do {
      const page: WebBoardQuery = await authed(WebBoardDocument, { workspaceId, after });
      workspace = page.workspace;
      if (!workspace) throw new Error('This workspace does not exist, or you are not a member of it');
      read.push(...workspace.todos.edges.map((e) => e.node));
      after = workspace.todos.pageInfo.hasNextPage ? workspace.todos.pageInfo.endCursor : null;
    } while (after);
    title.textContent = workspace.name;
    members = workspace.members;
    canWrite = workspace.myRole !== 'VIEWER';
    elements = new WeakMap(); // members or the role may have changed
    // Keep what events brought that is newer than this read: a later version, or a todo created after it.
    const newest = read.reduce((max, t) => (t.createdAt > max ? t.createdAt : max), '');
    todos = todos.reduce((acc, t) => (t.createdAt > newest || read.some((r) => r.id === t.id) ? upsert(acc, t) : acc), read);
    render();
  };

  const setLive = (state: LiveState, reason?: string) => {
    live.dataset.state = state;
    liveText.textContent = reason ? `${STATE_TEXT[state]}: ${reason}` : STATE_TEXT[state];
    reconnect.hidden = state !== 'ended';
  };

  let subscription: { stop(): void } | undefined;
  const start = () => {
    subscription?.stop();
    subscription = subscribeToBoard({
      workspaceId,
      onEvent: (event) => {
        todos = applyEvent(todos, event.type, event.todo);
        render();
      },
      onState: setLive,
      onResync: () => void load().catch(fail),
    });
  };
  reconnect.addEventListener('click', () => {
    start();
    load().catch(fail);
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    showError(error, undefined);
    const input = { workspaceId, title: newTitle.value.trim(), idempotencyKey: idempotencyKey() };
    void busy(form, () => authed(WebCreateTodoDocument, { input }))
      .then(({ createTodo }) => {
        newTitle.value = '';
        update(createTodo);
        newTitle.focus();
      })
      .catch(fail);
  });

  // Subscribe first, then read: a change made in between arrives as an event rather than being lost.
  start();
  load().catch(fail);

  const element = h(
    'main',
    {},
    h('button', { type: 'button', class: 'link', 'data-testid': 'back', onclick: back }, '← Workspaces'),
    title,
    live,
    error,
    form,
    count,
    list,
  );
  return { element, dispose: () => subscription?.stop() };
}
