// todo create | list | complete | assign | unassign.
import { AssignTodoDocument, CompleteTodoDocument, CreateTodoDocument, TodosDocument, type TodoFieldsFragment, type TodoFilter } from '../gql/graphql';
import { CliError, EXIT, UsageError } from '../errors';
import { print, renderRecord, renderTable, type Column } from '../output';
import { stringOption, type Command } from './command';

const PAGE = 100;

export const todoColumns: readonly Column<TodoFieldsFragment>[] = [
  { header: 'id', value: (t) => t.id },
  { header: 'status', value: (t) => t.status },
  { header: 'title', value: (t) => t.title },
  { header: 'assignee', value: (t) => t.assignee?.name },
  { header: 'due', value: (t) => t.dueAt },
];

const todoRecord = (t: TodoFieldsFragment) =>
  renderRecord([
    ['id', t.id],
    ['title', t.title],
    ['description', t.description],
    ['status', t.status],
    ['assignee', t.assignee ? `${t.assignee.name} (${t.assignee.id})` : null],
    ['due', t.dueAt],
    ['version', t.version],
  ]);

export const todoCreate: Command = {
  path: ['todo', 'create'],
  args: ['workspaceId', 'title'],
  summary: 'add a todo to a workspace',
  options: {
    description: { type: 'string', valueName: 'text', description: 'longer text' },
    due: { type: 'string', valueName: 'iso-time', description: 'due time, ISO-8601 (2030-01-31T17:00:00Z)' },
    assignee: { type: 'string', valueName: 'userId', description: 'a member to assign it to' },
    'idempotency-key': { type: 'string', valueName: 'key', description: 'retrying with the same key returns the same todo' },
  },
  async run(context) {
    const due = stringOption(context.options, 'due');
    if (due !== undefined && Number.isNaN(Date.parse(due))) throw new UsageError(`--due must be an ISO-8601 time (got "${due}")`);
    const input = {
      workspaceId: context.args.workspaceId!,
      title: context.args.title!,
      description: stringOption(context.options, 'description'),
      dueAt: due === undefined ? undefined : new Date(due).toISOString(),
      assigneeId: stringOption(context.options, 'assignee'),
      idempotencyKey: stringOption(context.options, 'idempotency-key'),
    };
    const { createTodo } = await context.session.call(CreateTodoDocument, { input });
    print(context.output, createTodo, todoRecord);
  },
};

export const todoList: Command = {
  path: ['todo', 'list'],
  args: ['workspaceId'],
  summary: "list a workspace's todos, oldest first",
  options: {
    status: { type: 'string', valueName: 'status', choices: ['OPEN', 'DONE'], description: 'only OPEN or only DONE' },
    assignee: { type: 'string', valueName: 'userId', description: 'only those assigned to this user' },
    search: { type: 'string', valueName: 'text', description: 'title or description contains this (any case)' },
    limit: { type: 'string', valueName: 'n', description: 'at most this many (default: all)' },
  },
  async run(context) {
    const limitText = stringOption(context.options, 'limit');
    const limit = limitText === undefined ? Infinity : Number(limitText);
    if (!(limit >= 1) || (limitText !== undefined && !Number.isInteger(limit))) throw new UsageError(`--limit must be a whole number from 1 (got "${limitText}")`);
    const filter: TodoFilter = {
      status: stringOption(context.options, 'status') as TodoFilter['status'],
      assigneeId: stringOption(context.options, 'assignee'),
      search: stringOption(context.options, 'search'),
    };
    const workspaceId = context.args.workspaceId!;
    const todos: TodoFieldsFragment[] = [];
    let after: string | null | undefined;
    do {
      const { workspace } = await context.session.call(TodosDocument, { workspaceId, first: Math.min(PAGE, limit - todos.length), after, filter });
      if (!workspace) throw new CliError('NOT_FOUND', `no workspace ${workspaceId} among yours`, EXIT.API_ERROR);
      todos.push(...workspace.todos.edges.map((edge) => edge.node));
      after = workspace.todos.pageInfo.hasNextPage ? workspace.todos.pageInfo.endCursor : null;
    } while (after && todos.length < limit);
    print(context.output, todos, (rows) => renderTable(todoColumns, rows));
  },
};

export const todoComplete: Command = {
  path: ['todo', 'complete'],
  args: ['todoId'],
  summary: 'mark a todo done',
  options: {},
  async run(context) {
    const { completeTodo } = await context.session.call(CompleteTodoDocument, { id: context.args.todoId! });
    print(context.output, completeTodo, todoRecord);
  },
};

export const todoAssign: Command = {
  path: ['todo', 'assign'],
  args: ['todoId', 'userId'],
  summary: 'assign a todo to a member of its workspace',
  options: {},
  async run(context) {
    const { assignTodo } = await context.session.call(AssignTodoDocument, { id: context.args.todoId!, assigneeId: context.args.userId! });
    print(context.output, assignTodo, todoRecord);
  },
};

export const todoUnassign: Command = {
  path: ['todo', 'unassign'],
  args: ['todoId'],
  summary: "clear a todo's assignee",
  options: {},
  async run(context) {
    const { assignTodo } = await context.session.call(AssignTodoDocument, { id: context.args.todoId!, assigneeId: null });
    print(context.output, assignTodo, todoRecord);
  },
};
