// The first feature subgraph through the real platform: workspaces and todos across identity,
// authz (scoped grants) and audit, over HTTP through the gateway. The platform runs on a PostgreSQL
// that logs every statement, so a test can count what a listing sends to workspaces and identity.
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStatementLog, withoutBackground, type StatementLog } from '@citadel/kit/testing/statement-log';
import { launch, type Platform } from './launcher';
import {
  account,
  ADD_MEMBER,
  adminToken,
  ASSIGN_TODO,
  call,
  CHANGE_ROLE,
  codes,
  COMPLETE_TODO,
  CREATE_TODO,
  createTodo,
  DELETE_TODO,
  eventually,
  ok,
  outcome,
  REMOVE_MEMBER,
  REOPEN_TODO,
  UPDATE_TODO,
  WORKSPACE,
  workspaceWith,
  type Account,
  type Body,
  type Role,
  type Todo,
} from './workspaces-helpers';

let platform: Platform;
let statementLog: StatementLog;
let gql: string;
let ada: Account;
let ben: Account;
let cy: Account;
let di: Account;
let eve: Account;
let fay: Account;
let gus: Account;

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'citadel-e2e-'));
  chmodSync(dataDir, 0o755); // embedded PostgreSQL runs as the postgres user when we are root
  statementLog = await startStatementLog(dataDir);
  platform = await launch({ dataDir, env: { DATABASE_URL: statementLog.url, REDIS_URL: undefined } });
  gql = `${platform.gatewayUrl}/graphql`;
  const accounts = await Promise.all(['ada', 'ben', 'cy', 'di', 'eve', 'fay', 'gus'].map((name) => account(gql, `${name}@example.com`)));
  [ada, ben, cy, di, eve, fay, gus] = accounts as [Account, Account, Account, Account, Account, Account, Account];
});
afterAll(async () => {
  await platform?.stop();
  await statementLog?.stop();
});

describe('workspaces through the gateway', () => {
  it('creates a workspace whose owner gets scoped permissions from authz, joined with identity and audited', async () => {
    const created = await call<{ createWorkspace: { id: string } }>(gql, ada.token, 'mutation { createWorkspace(name: "Launch") { id } }');
    expect(created.errors).toBeUndefined();
    const id = created.data!.createWorkspace.id;

    // Fields from three subgraphs in one answer: workspaces, identity (names) and authz (scoped permissions).
    const mine = await eventually(
      () =>
        call<{ me: { workspaces: { name: string; myRole: string; members: { user: { name: string }; role: string }[] }[]; permissions: string[] } }>(
          gql,
          ada.token,
          `{ me { workspaces { name myRole members { user { name } role } } permissions(scope: "workspace:${id}") } }`,
        ),
      (body) => body.data?.me.permissions.includes('workspaces.todo.write') ?? false,
    );
    expect(mine.data!.me.workspaces).toEqual([{ name: 'Launch', myRole: 'OWNER', members: [{ user: { name: 'ada' }, role: 'OWNER' }] }]);
    expect(mine.data!.me.permissions).toContain('workspaces.todo.write');

    // A non-member learns nothing, not even that it exists.
    const snoop = await call(gql, ben.token, `{ workspace(id: "${id}") { name } }`);
    expect(snoop.data).toEqual({ workspace: null });
    expect(codes(snoop)).toEqual(['NOT_FOUND']);

    await ok(gql, ada.token, ADD_MEMBER, { i: { workspaceId: id, userId: ben.id, role: 'MEMBER' } });
    const todo = await call(gql, ben.token, 'mutation($i: CreateTodoInput!) { createTodo(input: $i) { title assignee { name } createdBy { name } } }', {
      i: { workspaceId: id, title: 'Write the launch post', assigneeId: ada.id, idempotencyKey: 'k-1' },
    });
    expect(todo.data).toEqual({ createTodo: { title: 'Write the launch post', assignee: { name: 'ada' }, createdBy: { name: 'ben' } } });

    // The change is in the audit trail, written with it and delivered by the outbox relay.
    const admin = await adminToken(gql, platform.dataDir);
    const trail = await eventually(
      () =>
        call<{ auditEvents: { edges: { node: { action: string; actor: { id: string } } }[] } }>(
          gql,
          admin,
          '{ auditEvents(filter: { action: "workspaces." }, first: 10) { edges { node { action actor { id } } } } }',
        ),
      (body) => (body.data?.auditEvents.edges.length ?? 0) >= 3,
    );
    expect(trail.data!.auditEvents.edges.map((e) => e.node)).toEqual([
      { action: 'workspaces.todo.created', actor: { id: ben.id } },
      { action: 'workspaces.member.added', actor: { id: ada.id } },
      { action: 'workspaces.workspace.created', actor: { id: ada.id } },
    ]);
  });

  it('runs the whole life cycle: members in every role, todos from creation to deletion, paging, leaving, deletion, all audited', async () => {
    // Workspace and members.
    const id = await workspaceWith(gql, ada, 'Life cycle');
    const renamed = await ok<{ renameWorkspace: { name: string; myRole: string } }>(gql, ada.token, 'mutation($id: ID!, $n: String!) { renameWorkspace(id: $id, name: $n) { name myRole } }', {
      id,
      n: '  Life cycle v2 ',
    });
    expect(renamed.renameWorkspace).toEqual({ name: 'Life cycle v2', myRole: 'OWNER' });
    for (const [who, role] of [[eve, 'OWNER'], [ben, 'ADMIN'], [cy, 'MEMBER'], [di, 'VIEWER']] as [Account, Role][]) {
      const added = await ok<{ addMember: unknown }>(gql, ada.token, ADD_MEMBER, { i: { workspaceId: id, userId: who.id, role } });
      expect(added.addMember).toEqual({ role, user: { name: who.email.split('@')[0] } });
    }
    expect(codes(await call(gql, ada.token, ADD_MEMBER, { i: { workspaceId: id, userId: cy.id, role: 'VIEWER' } }))).toEqual(['ALREADY_MEMBER']);
    const changed = await ok<{ changeMemberRole: unknown }>(gql, ben.token, CHANGE_ROLE, { i: { workspaceId: id, userId: di.id, role: 'MEMBER' } });
    expect(changed.changeMemberRole).toEqual({ role: 'MEMBER', user: { name: 'di' } });
    const seen = await ok<{ workspace: { name: string; myRole: string; members: unknown[] } }>(gql, di.token, WORKSPACE, { id });
    expect(seen.workspace).toMatchObject({
      name: 'Life cycle v2',
      myRole: 'MEMBER',
      members: [
        { user: { name: 'ada' }, role: 'OWNER' },
        { user: { name: 'eve' }, role: 'OWNER' },
        { user: { name: 'ben' }, role: 'ADMIN' },
        { user: { name: 'cy' }, role: 'MEMBER' },
        { user: { name: 'di' }, role: 'MEMBER' },
      ],
    });

    // One todo through every change; each bumps the version.
    const dueAt = '2030-01-02T03:04:05.000Z';
    const first = await createTodo(gql, cy, id, { title: 'Draft the plan', description: 'first cut', dueAt, assigneeId: ben.id, idempotencyKey: 'plan' });
    expect(first).toMatchObject({ title: 'Draft the plan', description: 'first cut', status: 'OPEN', dueAt, version: 1, assignee: { name: 'ben' }, createdBy: { name: 'cy' } });
    const updated = await ok<{ updateTodo: Todo }>(gql, di.token, UPDATE_TODO, { i: { id: first.id, expectedVersion: 1, title: 'Write the plan', description: null } });
    expect(updated.updateTodo).toMatchObject({ title: 'Write the plan', description: null, dueAt, version: 2 });
    const stale = await call(gql, cy.token, UPDATE_TODO, { i: { id: first.id, expectedVersion: 1, title: 'Lost update' } });
    expect(codes(stale)).toEqual(['VERSION_CONFLICT']);
    expect(stale.errors![0]!.extensions).toMatchObject({ currentVersion: 2 });
    expect((await ok<{ completeTodo: Todo }>(gql, cy.token, COMPLETE_TODO, { id: first.id })).completeTodo).toMatchObject({ status: 'DONE', version: 3 });
    // Completing a done todo changes nothing: no new version.
    expect((await ok<{ completeTodo: Todo }>(gql, cy.token, COMPLETE_TODO, { id: first.id })).completeTodo).toMatchObject({ status: 'DONE', version: 3 });
    expect((await ok<{ reopenTodo: Todo }>(gql, ben.token, REOPEN_TODO, { id: first.id })).reopenTodo).toMatchObject({ status: 'OPEN', version: 4 });
    expect((await ok<{ assignTodo: Todo }>(gql, ada.token, ASSIGN_TODO, { id: first.id, a: cy.id })).assignTodo).toMatchObject({ assignee: { name: 'cy' }, version: 5 });
    expect(codes(await call(gql, ada.token, ASSIGN_TODO, { id: first.id, a: gus.id }))).toEqual(['BAD_USER_INPUT']); // not a member
    // A DateTime the gateway passes through unparsed and workspaces refuses: the client's mistake, said as such.
    const badDate = await call(gql, cy.token, CREATE_TODO, { i: { workspaceId: id, title: 'Someday', dueAt: 'next tuesday' } });
    expect(codes(badDate)).toEqual(['BAD_USER_INPUT']);
    expect(badDate.errors![0]!.message).toMatch(/DateTime/);

    // More todos to page and filter through.
    const others: Todo[] = [];
    for (let i = 1; i <= 5; i++) others.push(await createTodo(gql, i % 2 ? ben : ada, id, { title: `Task ${i}`, assigneeId: i % 2 ? ben.id : null }));
    await ok(gql, cy.token, COMPLETE_TODO, { id: others[1]!.id });
    const all = [first, ...others].map((t) => t.id);
    interface Page {
      totalCount: number;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
      edges: { node: { id: string; assignee: { name: string } | null; createdBy: { name: string } } }[];
    }
    const page = (after: string | null, filter: Record<string, unknown> | null = null) =>
      ok<{ workspace: { todos: Page } }>(
        gql,
        cy.token,
        'query($id: ID!, $f: TodoFilter, $after: String) { workspace(id: $id) { todos(filter: $f, first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id assignee { name } createdBy { name } } } } } }',
        { id, f: filter, after },
      );
    const walked: string[] = [];
    let after: string | null = null;
    for (let pages = 1; ; pages++) {
      const todos: Page = (await page(after)).workspace.todos;
      expect(todos.totalCount).toBe(6);
      walked.push(...todos.edges.map((e) => e.node.id));
      if (!todos.pageInfo.hasNextPage) {
        expect(pages).toBe(3);
        break;
      }
      after = todos.pageInfo.endCursor;
    }
    expect(walked).toEqual(all); // oldest first, each once
    const firstPage = (await page(null)).workspace.todos.edges.map((e) => e.node);
    expect(firstPage).toEqual([
      { id: first.id, assignee: { name: 'cy' }, createdBy: { name: 'cy' } },
      { id: others[0]!.id, assignee: { name: 'ben' }, createdBy: { name: 'ben' } },
    ]);
    expect((await page(null, { status: 'DONE' })).workspace.todos.edges.map((e) => e.node.id)).toEqual([others[1]!.id]);
    expect((await page(null, { assigneeId: ben.id })).workspace.todos.totalCount).toBe(3);
    expect((await page(null, { search: 'TASK 4' })).workspace.todos.edges.map((e) => e.node.id)).toEqual([others[3]!.id]);

    // User.assignedTodos: yours, across your workspaces.
    const assigned = await ok<{ me: { assignedTodos: { totalCount: number; edges: { node: { title: string } }[] } } }>(
      gql,
      ben.token,
      '{ me { assignedTodos(first: 10) { totalCount edges { node { title } } } } }',
    );
    expect(assigned.me.assignedTodos.edges.map((e) => e.node.title)).toEqual(['Task 1', 'Task 3', 'Task 5']);

    // Deleting a todo.
    expect(await ok(gql, di.token, DELETE_TODO, { id: others[4]!.id })).toEqual({ deleteTodo: true });
    expect(codes(await call(gql, di.token, COMPLETE_TODO, { id: others[4]!.id }))).toEqual(['NOT_FOUND']);
    expect((await page(null)).workspace.todos.totalCount).toBe(5);

    // Removing a member unassigns their todos and takes the workspace away from them.
    expect(await ok(gql, ada.token, REMOVE_MEMBER, { w: id, u: ben.id })).toEqual({ removeMember: true });
    expect((await page(null, { assigneeId: ben.id })).workspace.todos.totalCount).toBe(0);
    expect(codes(await call(gql, ben.token, WORKSPACE, { id }))).toEqual(['NOT_FOUND']);
    expect(await ok(gql, ben.token, '{ me { assignedTodos { totalCount } } }')).toEqual({ me: { assignedTodos: { totalCount: 0 } } });

    // Leaving; the last owner cannot.
    expect(await ok(gql, di.token, 'mutation($id: ID!) { leaveWorkspace(id: $id) }', { id })).toEqual({ leaveWorkspace: true });
    expect(await ok(gql, eve.token, 'mutation($id: ID!) { leaveWorkspace(id: $id) }', { id })).toEqual({ leaveWorkspace: true });
    expect(codes(await call(gql, ada.token, 'mutation($id: ID!) { leaveWorkspace(id: $id) }', { id }))).toEqual(['LAST_OWNER']);
    expect(codes(await call(gql, di.token, WORKSPACE, { id }))).toEqual(['NOT_FOUND']);

    // Deleting the workspace takes it away from everyone.
    expect(await ok(gql, ada.token, 'mutation($id: ID!) { deleteWorkspace(id: $id) }', { id })).toEqual({ deleteWorkspace: true });
    for (const who of [ada, cy]) {
      expect(codes(await call(gql, who.token, WORKSPACE, { id }))).toEqual(['NOT_FOUND']);
      const { me } = await ok<{ me: { workspaces: { id: string }[] } }>(gql, who.token, '{ me { workspaces { id } } }');
      expect(me.workspaces.map((w) => w.id)).not.toContain(id);
    }
    expect(codes(await call(gql, cy.token, COMPLETE_TODO, { id: first.id }))).toEqual(['NOT_FOUND']);

    // Every change is in the audit trail, delivered by the outbox relays.
    const admin = await adminToken(gql, platform.dataDir);
    const events = (targetId: string) =>
      call<{ auditEvents: { edges: { node: { action: string; actor: { id: string } } }[] } }>(
        gql,
        admin,
        'query($t: String!) { auditEvents(filter: { targetId: $t }, first: 100) { edges { node { action actor { id } } } } }',
        { t: targetId },
      );
    const workspaceTrail = await eventually(
      () => events(id),
      (body) => body.data?.auditEvents.edges.some((e) => e.node.action === 'workspaces.workspace.deleted') ?? false,
    );
    // Newest first.
    expect(workspaceTrail.data!.auditEvents.edges.map((e) => [e.node.action, e.node.actor.id]).reverse()).toEqual([
      ['workspaces.workspace.created', ada.id],
      ['workspaces.workspace.renamed', ada.id],
      ['workspaces.member.added', ada.id],
      ['workspaces.member.added', ada.id],
      ['workspaces.member.added', ada.id],
      ['workspaces.member.added', ada.id],
      ['workspaces.member.role-changed', ben.id],
      ['workspaces.member.removed', ada.id],
      ['workspaces.member.left', di.id],
      ['workspaces.member.left', eve.id],
      ['workspaces.workspace.deleted', ada.id],
    ]);
    const todoTrail = await eventually(
      () => events(first.id),
      (body) => (body.data?.auditEvents.edges.length ?? 0) >= 5,
    );
    expect(todoTrail.data!.auditEvents.edges.map((e) => [e.node.action, e.node.actor.id]).reverse()).toEqual([
      ['workspaces.todo.created', cy.id],
      ['workspaces.todo.updated', di.id],
      ['workspaces.todo.completed', cy.id],
      ['workspaces.todo.reopened', ben.id],
      ['workspaces.todo.assigned', ada.id],
    ]);
    const deleted = await eventually(
      () => events(others[4]!.id),
      (body) => (body.data?.auditEvents.edges.length ?? 0) >= 2,
    );
    expect(deleted.data!.auditEvents.edges.map((e) => e.node.action)).toEqual(['workspaces.todo.deleted', 'workspaces.todo.created']);
  });
});

type Actor = Role | 'non-member';
type Expected = 'ok' | 'FORBIDDEN' | 'NOT_FOUND' | 'LAST_OWNER';

/** A fresh workspace per cell: ada owns it, ben/cy/di hold ADMIN/MEMBER/VIEWER, fay is a MEMBER, and it has one todo. */
interface Cell {
  workspaceId: string;
  todoId: string;
}

const OPERATIONS: Record<string, (cell: Cell, token: string) => Promise<Body<unknown>>> = {
  'read the workspace and its todos': (c, t) => call(gql, t, WORKSPACE, { id: c.workspaceId }),
  'rename the workspace': (c, t) => call(gql, t, 'mutation($id: ID!) { renameWorkspace(id: $id, name: "Renamed") { name } }', { id: c.workspaceId }),
  'delete the workspace': (c, t) => call(gql, t, 'mutation($id: ID!) { deleteWorkspace(id: $id) }', { id: c.workspaceId }),
  'add a member': (c, t) => call(gql, t, ADD_MEMBER, { i: { workspaceId: c.workspaceId, userId: gus.id, role: 'MEMBER' } }),
  'add an owner': (c, t) => call(gql, t, ADD_MEMBER, { i: { workspaceId: c.workspaceId, userId: gus.id, role: 'OWNER' } }),
  'remove a member': (c, t) => call(gql, t, REMOVE_MEMBER, { w: c.workspaceId, u: fay.id }),
  'remove the (only) owner': (c, t) => call(gql, t, REMOVE_MEMBER, { w: c.workspaceId, u: ada.id }),
  "change a member's role": (c, t) => call(gql, t, CHANGE_ROLE, { i: { workspaceId: c.workspaceId, userId: fay.id, role: 'VIEWER' } }),
  'create a todo': (c, t) => call(gql, t, CREATE_TODO, { i: { workspaceId: c.workspaceId, title: 'New' } }),
  'update a todo': (c, t) => call(gql, t, UPDATE_TODO, { i: { id: c.todoId, expectedVersion: 1, title: 'Changed' } }),
  'complete a todo': (c, t) => call(gql, t, COMPLETE_TODO, { id: c.todoId }),
  'delete a todo': (c, t) => call(gql, t, DELETE_TODO, { id: c.todoId }),
};

const ALL_READ = { OWNER: 'ok', ADMIN: 'ok', MEMBER: 'ok', VIEWER: 'ok', 'non-member': 'NOT_FOUND' } as const;
const MANAGERS = { OWNER: 'ok', ADMIN: 'ok', MEMBER: 'FORBIDDEN', VIEWER: 'FORBIDDEN', 'non-member': 'NOT_FOUND' } as const;
const OWNER_ONLY = { OWNER: 'ok', ADMIN: 'FORBIDDEN', MEMBER: 'FORBIDDEN', VIEWER: 'FORBIDDEN', 'non-member': 'NOT_FOUND' } as const;
const WRITERS = { OWNER: 'ok', ADMIN: 'ok', MEMBER: 'ok', VIEWER: 'FORBIDDEN', 'non-member': 'NOT_FOUND' } as const;

/** docs/workspaces.md "Permissions" and its owner rules. */
const MATRIX: Record<keyof typeof OPERATIONS, Record<Actor, Expected>> = {
  'read the workspace and its todos': ALL_READ,
  'rename the workspace': MANAGERS,
  'delete the workspace': OWNER_ONLY,
  'add a member': MANAGERS,
  'add an owner': OWNER_ONLY,
  'remove a member': MANAGERS,
  'remove the (only) owner': { ...OWNER_ONLY, OWNER: 'LAST_OWNER' },
  "change a member's role": MANAGERS,
  'create a todo': WRITERS,
  'update a todo': WRITERS,
  'complete a todo': WRITERS,
  'delete a todo': WRITERS,
};

const ACTORS: Actor[] = ['OWNER', 'ADMIN', 'MEMBER', 'VIEWER', 'non-member'];
const CELLS = Object.entries(MATRIX).flatMap(([operation, row]) => ACTORS.map((actor) => ({ operation, actor, expected: row[actor] })));

describe('permission matrix per role, through the gateway', () => {
  const cells = new Map<string, Cell>();
  const token = (actor: Actor) => ({ OWNER: ada, ADMIN: ben, MEMBER: cy, VIEWER: di, 'non-member': eve })[actor].token;

  beforeAll(async () => {
    await Promise.all(
      CELLS.map(async ({ operation, actor }) => {
        const workspaceId = await workspaceWith(gql, ada, `${operation} as ${actor}`, [
          [ben, 'ADMIN'],
          [cy, 'MEMBER'],
          [di, 'VIEWER'],
          [fay, 'MEMBER'],
        ]);
        const todo = await createTodo(gql, ada, workspaceId, { title: 'Matrix' });
        cells.set(`${operation}/${actor}`, { workspaceId, todoId: todo.id });
      }),
    );
  });

  // Each cell has its own workspace, so the cells run side by side.
  it.concurrent.for(CELLS)('$operation as $actor: $expected', async ({ operation, actor, expected }, { expect }) => {
    const cell = cells.get(`${operation}/${actor}`)!;
    const body = await OPERATIONS[operation]!(cell, token(actor));
    expect(outcome(body), `${operation} as ${actor}: ${JSON.stringify(body.errors ?? body.data)}`).toBe(expected);
    if (expected === 'ok') return;
    // A refusal changes nothing: the owner still sees the workspace, its members and its todo as they were.
    const after = await ok<{ workspace: { name: string; members: unknown[]; todos: { totalCount: number } } }>(gql, ada.token, WORKSPACE, { id: cell.workspaceId });
    expect(after.workspace.name).toBe(`${operation} as ${actor}`);
    expect(after.workspace.members).toHaveLength(5);
    expect(after.workspace.todos.totalCount).toBe(1);
  });
});

describe('non-member isolation', () => {
  it('answers NOT_FOUND for the workspace and every todo operation, exactly as for one that does not exist, and lists nothing', async () => {
    const id = await workspaceWith(gql, ada, 'Private', [[ben, 'MEMBER']]);
    const todo = await createTodo(gql, ada, id, { title: 'Secret plan', assigneeId: ben.id });
    const missingWorkspace = '00000000-0000-4000-8000-000000000000';
    const missingTodo = '00000000-0000-4000-8000-000000000001';

    const probes: [string, (workspaceId: string, todoId: string) => Promise<Body<unknown>>][] = [
      ['workspace(id)', (w) => call(gql, eve.token, WORKSPACE, { id: w })],
      ['createTodo', (w) => call(gql, eve.token, CREATE_TODO, { i: { workspaceId: w, title: 'Intrusion' } })],
      ['updateTodo', (_, t) => call(gql, eve.token, UPDATE_TODO, { i: { id: t, expectedVersion: 1, title: 'Intrusion' } })],
      ['completeTodo', (_, t) => call(gql, eve.token, COMPLETE_TODO, { id: t })],
      ['reopenTodo', (_, t) => call(gql, eve.token, REOPEN_TODO, { id: t })],
      ['assignTodo', (_, t) => call(gql, eve.token, ASSIGN_TODO, { id: t, a: eve.id })],
      ['deleteTodo', (_, t) => call(gql, eve.token, DELETE_TODO, { id: t })],
      ['addMember (herself)', (w) => call(gql, eve.token, ADD_MEMBER, { i: { workspaceId: w, userId: eve.id, role: 'OWNER' } })],
      ['leaveWorkspace', (w) => call(gql, eve.token, 'mutation($id: ID!) { leaveWorkspace(id: $id) }', { id: w })],
    ];
    for (const [name, probe] of probes) {
      const real = await probe(id, todo.id);
      const missing = await probe(missingWorkspace, missingTodo);
      expect(codes(real), name).toEqual(['NOT_FOUND']);
      expect(real.data ?? null, name).toEqual(missing.data ?? null);
      expect(real.errors![0]!.message, name).toBe(missing.errors![0]!.message);
    }

    const { me } = await ok<{ me: { workspaces: unknown[]; assignedTodos: { totalCount: number } } }>(gql, eve.token, '{ me { workspaces { id } assignedTodos { totalCount } } }');
    expect(me).toEqual({ workspaces: [], assignedTodos: { totalCount: 0 } });
    // Nothing changed for the members.
    const seen = await ok<{ workspace: { members: unknown[]; todos: { totalCount: number } } }>(gql, ben.token, WORKSPACE, { id });
    expect(seen.workspace.members).toEqual([
      { user: { name: 'ada' }, role: 'OWNER' },
      { user: { name: 'ben' }, role: 'MEMBER' },
    ]);
    const stillThere = await ok<{ assignTodo: Todo }>(gql, ada.token, ASSIGN_TODO, { id: todo.id, a: ben.id });
    expect(stillThere.assignTodo).toMatchObject({ title: 'Secret plan', status: 'OPEN', version: 1 });
  });
});

describe('under 50 parallel requests', () => {
  it('50 createTodo with the same idempotency key and input all answer the same todo, and exactly one exists', async () => {
    const id = await workspaceWith(gql, ada, 'Retries', [[ben, 'MEMBER']]);
    const input = { workspaceId: id, title: 'Once only', description: 'retried', assigneeId: ben.id, idempotencyKey: 'retry-storm' };
    const answers = await Promise.all(Array.from({ length: 50 }, () => call<{ createTodo: Todo }>(gql, ada.token, CREATE_TODO, { i: input })));
    expect(answers.flatMap((a) => codes(a))).toEqual([]);
    const ids = new Set(answers.map((a) => a.data!.createTodo.id));
    expect(ids.size).toBe(1);
    expect(answers[0]!.data!.createTodo).toMatchObject({ title: 'Once only', version: 1, assignee: { name: 'ben' }, createdBy: { name: 'ada' } });
    const listed = await ok<{ workspace: { todos: { totalCount: number } } }>(gql, ada.token, WORKSPACE, { id });
    expect(listed.workspace.todos.totalCount).toBe(1);
  });

  it('50 updateTodo with the same expectedVersion: one succeeds, 49 get VERSION_CONFLICT, and the version goes up by one', async () => {
    const id = await workspaceWith(gql, ada, 'Contention', [[ben, 'MEMBER']]);
    const todo = await createTodo(gql, ada, id, { title: 'Contended' });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => call<{ updateTodo: Todo }>(gql, i % 2 ? ada.token : ben.token, UPDATE_TODO, { i: { id: todo.id, expectedVersion: 1, title: `Edit ${i}` } })),
    );
    const outcomes = answers.map(outcome);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'VERSION_CONFLICT')).toHaveLength(49);
    const winner = answers.find((a) => outcome(a) === 'ok')!.data!.updateTodo;
    expect(winner.version).toBe(2);
    for (const loser of answers.filter((a) => outcome(a) === 'VERSION_CONFLICT')) expect(loser.errors![0]!.extensions).toMatchObject({ currentVersion: 2 });
    const { workspace } = await ok<{ workspace: { todos: { edges: { node: Todo }[] } } }>(gql, ada.token, `query($id: ID!) { workspace(id: $id) { todos { edges { node { title version } } } } }`, { id });
    expect(workspace.todos.edges.map((e) => e.node)).toEqual([{ title: winner.title, version: 2 }]);
  });
});

/**
 * What workspaces and identity run besides requests, on the same connection pools: the outbox
 * relays, the grant mirror's queue, identity answering the gateways' poll for revoked sessions, and
 * any write at all (listing writes nothing). Audit storing events and authz mirroring grants run on
 * their own connections, left out by schema.
 */
const BACKGROUND = [/"outbox"/, /"grant_mirror"/, /"identity"\."sessions".*"revoked_at" >/, /^\s*(insert|update|delete)\b/i, /\bfor update\b/i];

describe('SQL statements per request', () => {
  it('lists 100 todos with assignee and creator names in as many statements as 10 (DataLoaders in workspaces and identity)', async () => {
    const id = await workspaceWith(gql, ada, 'Busy', [
      [ben, 'MEMBER'],
      [cy, 'MEMBER'],
      [di, 'ADMIN'],
    ]);
    const people = [ada, ben, cy, di];
    await Promise.all(Array.from({ length: 100 }, (_, i) => createTodo(gql, people[i % 4]!, id, { title: `Item ${i}`, assigneeId: people[(i + 1) % 4]!.id })));
    const list = (first: number) =>
      ok<{ workspace: { todos: { edges: { node: { assignee: { name: string }; createdBy: { name: string } } }[] } } }>(
        gql,
        ben.token,
        'query($id: ID!, $first: Int!) { workspace(id: $id) { name todos(first: $first) { edges { node { title assignee { name } createdBy { name } } } } } }',
        { id, first },
      );
    // Warm up (first use of a query plan, keys, caches), then count.
    await list(10);
    const names = (await list(100)).workspace.todos.edges.flatMap((e) => [e.node.assignee.name, e.node.createdBy.name]);
    expect(new Set(names)).toEqual(new Set(['ada', 'ben', 'cy', 'di']));
    const count = async (first: number) => {
      const statements = await statementLog.statementsDuring(async () => expect((await list(first)).workspace.todos.edges).toHaveLength(first));
      const units = withoutBackground(statements, (sql) => BACKGROUND.some((pattern) => pattern.test(sql)));
      return units.filter((unit) => unit.some((s) => /"(workspaces|identity)"\./.test(s.sql))).flat().map((s) => s.sql);
    };
    // A timer we do not know of could still land in a window; it only adds, so keep the smallest of three.
    const fewest = (runs: string[][]) => runs.reduce((a, b) => (b.length < a.length ? b : a));
    const runs: Record<10 | 100, string[][]> = { 10: [], 100: [] };
    for (let i = 0; i < 3; i++) for (const n of [10, 100] as const) runs[n].push(await count(n));
    const [ten, hundred] = [fewest(runs[10]), fewest(runs[100])];
    expect(ten.length, ten.join('\n')).toBeLessThanOrEqual(10);
    expect(hundred.length, `10 todos:\n${ten.join('\n')}\n\n100 todos:\n${hundred.join('\n')}`).toBe(ten.length);
    // Both services' statements are counted: the todos from workspaces, the names from identity.
    expect(ten.some((sql) => /"workspaces"\."todos"/.test(sql))).toBe(true);
    expect(ten.some((sql) => /"identity"\./.test(sql))).toBe(true);
  });
});
