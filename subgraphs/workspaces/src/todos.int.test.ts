// Todos against real PostgreSQL: idempotent create, optimistic concurrency, assignment rules, the
// todo connections (filters, pagination), their events, and a query count that does not grow.
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { errorCode } from '@citadel/kit/testing/graphql-client';
import { seeder } from './testing/seed';
import { userCaller, useWorkspaces } from './testing/workspaces-harness';

const h = useWorkspaces();
const seed = seeder(h);

const CREATE = 'mutation($input: CreateTodoInput!) { createTodo(input: $input) { id title version status } }';
const UPDATE = 'mutation($input: UpdateTodoInput!) { updateTodo(input: $input) { id title description version } }';
const ASSIGN = 'mutation($id: ID!, $a: ID) { assignTodo(id: $id, assigneeId: $a) { id assignee { id } version } }';
const TODOS = `query($id: ID!, $filter: TodoFilter, $first: Int, $after: String) { workspace(id: $id) {
  todos(filter: $filter, first: $first, after: $after) { totalCount edges { cursor node { title } } pageInfo { hasNextPage endCursor } } } }`;

type TodosPage = { workspace: { todos: { totalCount: number; edges: { node: { title: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } };

async function todoRows(workspaceId: string): Promise<number> {
  const [row] = await h.orm.em.fork().getConnection().execute<{ n: number }[]>(`select count(*)::int as "n" from "workspaces"."todos" where "workspace_id" = ?`, [workspaceId]);
  return row!.n;
}

describe('idempotent createTodo', () => {
  it('returns the first todo for a repeated key, and refuses the key with other input', async () => {
    const ws = await seed.workspace();
    const input = { workspaceId: ws.id, title: 'Ship it', dueAt: '2027-01-01T00:00:00.000Z', idempotencyKey: 'k-1' };
    const first = seed.ok(await h.call<{ createTodo: { id: string } }>(CREATE, { caller: ws.people.MEMBER, variables: { input } }));
    const again = seed.ok(await h.call<{ createTodo: { id: string } }>(CREATE, { caller: ws.people.MEMBER, variables: { input } }));
    expect(again.createTodo.id).toBe(first.createTodo.id);
    expect(errorCode(await h.call(CREATE, { caller: ws.people.MEMBER, variables: { input: { ...input, title: 'Something else' } } }))).toBe('IDEMPOTENCY_KEY_REUSED');
    // Keys belong to their user: someone else's same key is a new request.
    const other = seed.ok(await h.call<{ createTodo: { id: string } }>(CREATE, { caller: ws.owner, variables: { input } }));
    expect(other.createTodo.id).not.toBe(first.createTodo.id);
    expect(await todoRows(ws.id)).toBe(2);
  });

  it('creates one todo when duplicates of a request race', async () => {
    const ws = await seed.workspace();
    const input = { workspaceId: ws.id, title: 'Once', idempotencyKey: randomUUID() };
    const results = await Promise.all(Array.from({ length: 8 }, () => h.call<{ createTodo: { id: string } }>(CREATE, { caller: ws.people.MEMBER, variables: { input } })));
    const ids = new Set(results.map((r) => seed.ok(r).createTodo.id));
    expect(ids.size).toBe(1);
    expect(await todoRows(ws.id)).toBe(1);
  });
});

describe('optimistic concurrency', () => {
  it('applies an update at the expected version and answers VERSION_CONFLICT to a stale one', async () => {
    const ws = await seed.workspace();
    const todo = await seed.todo(ws.people.MEMBER, { workspaceId: ws.id, title: 'Draft', description: 'v1' });
    const updated = seed.ok(await h.call<{ updateTodo: { title: string; description: string | null; version: number } }>(UPDATE, {
      caller: ws.people.ADMIN,
      variables: { input: { id: todo.id, expectedVersion: 1, title: 'Final' } },
    }));
    expect(updated.updateTodo).toMatchObject({ title: 'Final', description: 'v1', version: 2 });
    const stale = await h.call(UPDATE, { caller: ws.people.MEMBER, variables: { input: { id: todo.id, expectedVersion: 1, description: null } } });
    expect(errorCode(stale)).toBe('VERSION_CONFLICT');
    expect(stale.body.errors![0]!.extensions).toMatchObject({ currentVersion: 2 });
    const cleared = seed.ok(await h.call<{ updateTodo: { description: string | null; version: number } }>(UPDATE, { caller: ws.people.MEMBER, variables: { input: { id: todo.id, expectedVersion: 2, description: null } } }));
    expect(cleared.updateTodo).toMatchObject({ description: null, version: 3 });
  });

  it('bumps the version on complete, reopen and assign, and not for a no-op', async () => {
    const ws = await seed.workspace();
    const todo = await seed.todo(ws.people.MEMBER, { workspaceId: ws.id, title: 'Cycle' });
    const complete = 'mutation($id: ID!) { completeTodo(id: $id) { status version } }';
    expect(seed.ok(await h.call<{ completeTodo: unknown }>(complete, { caller: ws.people.MEMBER, variables: { id: todo.id } })).completeTodo).toEqual({ status: 'DONE', version: 2 });
    expect(seed.ok(await h.call<{ completeTodo: unknown }>(complete, { caller: ws.people.MEMBER, variables: { id: todo.id } })).completeTodo).toEqual({ status: 'DONE', version: 2 });
    expect(seed.ok(await h.call<{ reopenTodo: unknown }>('mutation($id: ID!) { reopenTodo(id: $id) { status version } }', { caller: ws.people.MEMBER, variables: { id: todo.id } })).reopenTodo).toEqual({ status: 'OPEN', version: 3 });
  });
});

describe('assignment', () => {
  it('assigns only to members of the workspace (BAD_USER_INPUT otherwise)', async () => {
    const ws = await seed.workspace();
    const todo = await seed.todo(ws.people.MEMBER, { workspaceId: ws.id, title: 'Who?' });
    expect(errorCode(await h.call(ASSIGN, { caller: ws.people.MEMBER, variables: { id: todo.id, a: randomUUID() } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.call(CREATE, { caller: ws.people.MEMBER, variables: { input: { workspaceId: ws.id, title: 'x', assigneeId: randomUUID() } } }))).toBe('BAD_USER_INPUT');
    const assigned = seed.ok(await h.call<{ assignTodo: { assignee: { id: string } | null } }>(ASSIGN, { caller: ws.people.MEMBER, variables: { id: todo.id, a: ws.people.VIEWER.userId } }));
    expect(assigned.assignTodo.assignee).toEqual({ id: ws.people.VIEWER.userId });
    const unassigned = seed.ok(await h.call<{ assignTodo: { assignee: null } }>(ASSIGN, { caller: ws.people.MEMBER, variables: { id: todo.id, a: null } }));
    expect(unassigned.assignTodo.assignee).toBeNull();
  });
});

describe('todo connections', () => {
  it('filters by status, assignee and search, and pages with cursors', async () => {
    const ws = await seed.workspace();
    const member = ws.people.MEMBER;
    const ids: string[] = [];
    for (const title of ['Alpha report', 'Beta', 'Gamma report', 'Delta', 'Epsilon 100%']) ids.push((await seed.todo(member, { workspaceId: ws.id, title })).id);
    await h.call('mutation($id: ID!) { completeTodo(id: $id) { id } }', { caller: member, variables: { id: ids[1] } });
    await h.call(ASSIGN, { caller: member, variables: { id: ids[2], a: member.userId } });
    await h.call(ASSIGN, { caller: member, variables: { id: ids[3], a: member.userId } });
    const titles = (page: TodosPage) => page.workspace.todos.edges.map((e) => e.node.title);
    const list = async (variables: Record<string, unknown>) => seed.ok(await h.call<TodosPage>(TODOS, { caller: ws.people.VIEWER, variables: { id: ws.id, ...variables } }));

    expect(titles(await list({ filter: { status: 'DONE' } }))).toEqual(['Beta']);
    expect(titles(await list({ filter: { assigneeId: member.userId } }))).toEqual(['Gamma report', 'Delta']);
    expect(titles(await list({ filter: { search: 'REPORT' } }))).toEqual(['Alpha report', 'Gamma report']);
    expect(titles(await list({ filter: { search: '%' } }))).toEqual(['Epsilon 100%']);
    expect(titles(await list({ filter: { status: 'OPEN', search: 'report', assigneeId: member.userId } }))).toEqual(['Gamma report']);

    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 5; pages++) {
      const page: TodosPage = await list({ first: 2, after });
      expect(page.workspace.todos.totalCount).toBe(5);
      seen.push(...titles(page));
      if (!page.workspace.todos.pageInfo.hasNextPage) break;
      after = page.workspace.todos.pageInfo.endCursor;
    }
    expect(seen).toEqual(['Alpha report', 'Beta', 'Gamma report', 'Delta', 'Epsilon 100%']);
    expect(errorCode(await h.call(TODOS, { caller: member, variables: { id: ws.id, after: 'bm9wZQ' } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.call(TODOS, { caller: member, variables: { id: ws.id, first: 101 } }))).toBe('BAD_USER_INPUT');

    const assigned = seed.ok(await h.call<{ _entities: { assignedTodos: { totalCount: number; edges: { node: { title: string; workspace: { id: string } } }[] } }[] }>(
      'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { assignedTodos(first: 10) { totalCount edges { node { title workspace { id } } } } } } }',
      { caller: member, variables: { reps: [{ __typename: 'User', id: member.userId }] } },
    ));
    expect(assigned._entities[0]!.assignedTodos.edges.map((e) => [e.node.title, e.node.workspace.id])).toEqual([['Gamma report', ws.id], ['Delta', ws.id]]);
  });

  it('lists every field of a todo as it was written, on a workspace page and under User.workspaces alike', async () => {
    const ws = await seed.workspace();
    const member = ws.people.MEMBER;
    const fields = 'id title description status dueAt version createdAt updatedAt assignee { id } createdBy { id }';
    const input = { workspaceId: ws.id, title: 'Everything', description: 'all of it', dueAt: '2027-03-04T05:06:07.089Z', assigneeId: member.userId };
    const created = seed.ok(await h.call<{ createTodo: unknown }>(`mutation($input: CreateTodoInput!) { createTodo(input: $input) { ${fields} } }`, { caller: member, variables: { input } })).createTodo;
    expect(created).toMatchObject({ title: 'Everything', description: 'all of it', status: 'OPEN', dueAt: input.dueAt, version: 1, assignee: { id: member.userId } });

    type Page = { edges: { node: unknown }[] };
    const page = seed.ok(await h.call<{ workspace: { todos: Page } }>(`query($id: ID!) { workspace(id: $id) { todos(first: 5) { edges { node { ${fields} } } } } }`, { caller: member, variables: { id: ws.id } }));
    const batched = seed.ok(await h.call<{ _entities: { workspaces: { todos: Page }[] }[] }>(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { workspaces { todos(first: 5) { edges { node { ${fields} } } } } } } }`,
      { caller: member, variables: { reps: [{ __typename: 'User', id: member.userId }] } },
    ));
    expect(page.workspace.todos.edges.map((e) => e.node)).toEqual([created]);
    expect(batched._entities[0]!.workspaces[0]!.todos.edges.map((e) => e.node)).toEqual([created]);
  });

  it('marks its answers uncacheable (cache-control: no-store), as it did with the per-field cache-control plugin', async () => {
    const ws = await seed.workspace();
    const res = await h.call(TODOS, { caller: ws.owner, variables: { id: ws.id } });
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect((await h.call('{ __typename }', { caller: ws.owner })).headers.get('cache-control')).toBe('no-store');
  });

  it('sends the same number of statements for 3 todos as for 30', async () => {
    const query = `query($id: ID!) { workspace(id: $id) { name members { user { id } role }
      todos(first: 100) { totalCount edges { node { title assignee { id } createdBy { id } workspace { id name members { role } } } } } } }`;
    const counts: number[] = [];
    for (const n of [3, 30]) {
      const ws = await seed.workspace();
      for (let i = 0; i < n; i++) await seed.todo(ws.owner, { workspaceId: ws.id, title: `T${i}`, assigneeId: ws.people.MEMBER.userId });
      h.statements.length = 0;
      const res = seed.ok(await h.call<{ workspace: { todos: { totalCount: number } } }>(query, { caller: ws.owner, variables: { id: ws.id } }));
      expect(res.workspace.todos.totalCount).toBe(n);
      counts.push(h.statements.length);
    }
    expect(counts[1]).toBe(counts[0]);
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[0]).toBeLessThanOrEqual(8);
  });

  it("lists every workspace's first todos under User.workspaces in as many statements for 4 workspaces as for 1", async () => {
    const query = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User {
      workspaces { name todos(first: 2, filter: { status: OPEN }) { totalCount pageInfo { hasNextPage } edges { node { title } } } } } } }`;
    const owner = userCaller();
    const counts: number[] = [];
    type Listed = { _entities: { workspaces: { name: string; todos: { totalCount: number; pageInfo: { hasNextPage: boolean }; edges: { node: { title: string } }[] } }[] }[] };
    let listed: Listed | undefined;
    for (const n of [1, 4]) {
      if (n > 1) {
        for (let w = 1; w < n; w++) {
          const id = seed.ok(await h.call<{ createWorkspace: { id: string } }>('mutation($n: String!) { createWorkspace(name: $n) { id } }', { caller: owner, variables: { n: `W${w}` } })).createWorkspace.id;
          for (let i = 0; i < w; i++) await seed.todo(owner, { workspaceId: id, title: `W${w} T${i}` });
        }
      } else {
        seed.ok(await h.call('mutation { createWorkspace(name: "W0") { id } }', { caller: owner }));
      }
      h.statements.length = 0;
      listed = seed.ok(await h.call<Listed>(query, { caller: owner, variables: { reps: [{ __typename: 'User', id: owner.userId }] } }));
      counts.push(h.statements.length);
    }
    expect(counts[1]).toBe(counts[0]);
    expect(listed!._entities[0]!.workspaces.map((w) => [w.name, w.todos.totalCount, w.todos.pageInfo.hasNextPage, w.todos.edges.map((e) => e.node.title)])).toEqual([
      ['W0', 0, false, []],
      ['W1', 1, false, ['W1 T0']],
      ['W2', 2, false, ['W2 T0', 'W2 T1']],
      ['W3', 3, true, ['W3 T0', 'W3 T1']],
    ]);
  });
});

describe('todo events', () => {
  it('stages an event for every todo change, with before and after', async () => {
    const ws = await seed.workspace();
    const todo = await seed.todo(ws.people.MEMBER, { workspaceId: ws.id, title: 'Tracked' });
    await h.call(UPDATE, { caller: ws.people.MEMBER, variables: { input: { id: todo.id, expectedVersion: 1, title: 'Tracked!' } } });
    await h.call('mutation($id: ID!) { completeTodo(id: $id) { id } }', { caller: ws.people.MEMBER, variables: { id: todo.id } });
    await h.call('mutation($id: ID!) { reopenTodo(id: $id) { id } }', { caller: ws.people.MEMBER, variables: { id: todo.id } });
    await h.call(ASSIGN, { caller: ws.people.MEMBER, variables: { id: todo.id, a: ws.people.ADMIN.userId } });
    await h.call('mutation($id: ID!) { deleteTodo(id: $id) }', { caller: ws.people.ADMIN, variables: { id: todo.id } });
    const events = (await h.deliveredEvents()).filter((e) => e.target?.id === todo.id);
    expect(events.map((e) => e.action)).toEqual([
      'workspaces.todo.created',
      'workspaces.todo.updated',
      'workspaces.todo.completed',
      'workspaces.todo.reopened',
      'workspaces.todo.assigned',
      'workspaces.todo.deleted',
    ]);
    // Each carries the whole todo before and after (what live subscribers are shown); what changed is their difference.
    const whole = { workspaceId: ws.id, description: null, dueAt: null, createdBy: ws.people.MEMBER.userId, createdAt: expect.any(String), updatedAt: expect.any(String) };
    expect(events[0]!.changes).toEqual({ before: null, after: { ...whole, title: 'Tracked', status: 'OPEN', assigneeId: null, version: 1 } });
    expect(events[1]!.changes).toEqual({
      before: { ...whole, title: 'Tracked', status: 'OPEN', assigneeId: null, version: 1 },
      after: { ...whole, title: 'Tracked!', status: 'OPEN', assigneeId: null, version: 2 },
    });
    const changed = (e: (typeof events)[number]) => Object.keys(e.changes!.after!).filter((k) => JSON.stringify(e.changes!.before![k]) !== JSON.stringify(e.changes!.after![k])).sort();
    expect(events.slice(1, 5).map(changed)).toEqual([
      ['title', 'updatedAt', 'version'],
      ['status', 'updatedAt', 'version'],
      ['status', 'updatedAt', 'version'],
      ['assigneeId', 'updatedAt', 'version'],
    ]);
    expect(events[4]!.changes!.after).toMatchObject({ assigneeId: ws.people.ADMIN.userId, version: 5 });
    expect(events[5]).toMatchObject({ actor: { id: ws.people.ADMIN.userId }, changes: { before: { ...whole, title: 'Tracked!', assigneeId: ws.people.ADMIN.userId, version: 5 }, after: null } });
  });
});
