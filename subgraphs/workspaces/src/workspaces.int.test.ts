// The workspaces subgraph against real PostgreSQL: workspace lifecycle, membership and its owner
// rules, what non-members and viewers get, the authz grant mirror, and the events each change stages.
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { errorCode } from '@citadel/kit/testing/graphql-client';
import { seeder } from './testing/seed';
import { userCaller, useWorkspaces } from './testing/workspaces-harness';

const h = useWorkspaces();
const seed = seeder(h);

const WORKSPACE = 'query($id: ID!) { workspace(id: $id) { id name myRole members { user { id } role } } }';
const RENAME = 'mutation($id: ID!, $name: String!) { renameWorkspace(id: $id, name: $name) { name } }';
const CHANGE_ROLE = 'mutation($input: ChangeMemberRoleInput!) { changeMemberRole(input: $input) { role } }';
const REMOVE = 'mutation($w: ID!, $u: ID!) { removeMember(workspaceId: $w, userId: $u) }';
const LEAVE = 'mutation($id: ID!) { leaveWorkspace(id: $id) }';
const DELETE = 'mutation($id: ID!) { deleteWorkspace(id: $id) }';

describe('workspace lifecycle', () => {
  it('makes the creator owner, lets owners and admins rename, and only owners delete', async () => {
    const ws = await seed.workspace('  Launch  ');
    const read = seed.ok(await h.call<{ workspace: { name: string; myRole: string; members: { user: { id: string }; role: string }[] } }>(WORKSPACE, { caller: ws.owner, variables: { id: ws.id } }));
    expect(read.workspace.name).toBe('Launch');
    expect(read.workspace.myRole).toBe('OWNER');
    expect(read.workspace.members.map((m) => m.role)).toEqual(['OWNER', 'ADMIN', 'MEMBER', 'VIEWER']);

    expect(seed.ok(await h.call<{ renameWorkspace: { name: string } }>(RENAME, { caller: ws.people.ADMIN, variables: { id: ws.id, name: 'Launch 2' } })).renameWorkspace.name).toBe('Launch 2');
    expect(errorCode(await h.call(RENAME, { caller: ws.people.MEMBER, variables: { id: ws.id, name: 'x' } }))).toBe('FORBIDDEN');
    expect(errorCode(await h.call(RENAME, { caller: ws.owner, variables: { id: ws.id, name: '   ' } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.call(DELETE, { caller: ws.people.ADMIN, variables: { id: ws.id } }))).toBe('FORBIDDEN');

    expect(seed.ok(await h.call<{ deleteWorkspace: boolean }>(DELETE, { caller: ws.owner, variables: { id: ws.id } })).deleteWorkspace).toBe(true);
    for (const caller of [ws.owner, ws.people.MEMBER]) {
      const gone = await h.call<{ workspace: null }>(WORKSPACE, { caller, variables: { id: ws.id } });
      expect(errorCode(gone)).toBe('NOT_FOUND');
      expect(gone.body.data?.workspace).toBeNull();
    }
    const mine = seed.ok(await h.call<{ _entities: { workspaces: unknown[] }[] }>(
      'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { workspaces { id } } } }',
      { caller: ws.owner, variables: { reps: [{ __typename: 'User', id: ws.owner.userId }] } },
    ));
    expect(mine._entities[0]!.workspaces).toEqual([]);
  });

  it("lists the caller's own workspaces on User, and nobody else's", async () => {
    const a = await seed.workspace('A');
    const b = await seed.workspace('B');
    const viewer = a.people.VIEWER;
    seed.ok(await h.call('mutation($input: AddMemberInput!) { addMember(input: $input) { role } }', { caller: b.owner, variables: { input: { workspaceId: b.id, userId: viewer.userId, role: 'ADMIN' } } }));
    const query = 'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id workspaces { name myRole } } } }';
    const own = seed.ok(await h.call<{ _entities: { workspaces: { name: string; myRole: string }[] }[] }>(query, { caller: viewer, variables: { reps: [{ __typename: 'User', id: viewer.userId }] } }));
    expect(own._entities[0]!.workspaces).toEqual([{ name: 'A', myRole: 'VIEWER' }, { name: 'B', myRole: 'ADMIN' }]);
    const other = seed.ok(await h.call<{ _entities: { workspaces: unknown[] }[] }>(query, { caller: userCaller(), variables: { reps: [{ __typename: 'User', id: viewer.userId }] } }));
    expect(other._entities[0]!.workspaces).toEqual([]);
  });

  it('resolves a Workspace reference for a member only, null for anyone else, in one batch', async () => {
    const [a, b] = [await seed.workspace('Ref A'), await seed.workspace('Ref B')];
    const query = 'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Workspace { id name myRole } } }';
    const reps = [a.id, b.id, randomUUID(), 'not-a-uuid'].map((id) => ({ __typename: 'Workspace', id }));
    const asMember = seed.ok(await h.call<{ _entities: unknown[] }>(query, { caller: a.people.VIEWER, variables: { reps } }));
    expect(asMember._entities).toEqual([{ id: a.id, name: 'Ref A', myRole: 'VIEWER' }, null, null, null]);
    const asStranger = seed.ok(await h.call<{ _entities: unknown[] }>(query, { caller: userCaller(), variables: { reps } }));
    expect(asStranger._entities).toEqual([null, null, null, null]);
  });

  it('refuses anonymous callers before any resolver runs', async () => {
    const res = await h.call('mutation { createWorkspace(name: "x") { id } }');
    expect(errorCode(res)).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
  });
});

describe('membership and owner rules', () => {
  it('lets admins add members but only owners add or touch owners', async () => {
    const ws = await seed.workspace();
    const add = 'mutation($input: AddMemberInput!) { addMember(input: $input) { user { id } role } }';
    const newcomer = randomUUID();
    expect(errorCode(await h.call(add, { caller: ws.people.ADMIN, variables: { input: { workspaceId: ws.id, userId: newcomer, role: 'OWNER' } } }))).toBe('FORBIDDEN');
    expect(errorCode(await h.call(add, { caller: ws.people.MEMBER, variables: { input: { workspaceId: ws.id, userId: newcomer } } }))).toBe('FORBIDDEN');
    const added = seed.ok(await h.call<{ addMember: { user: { id: string }; role: string } }>(add, { caller: ws.people.ADMIN, variables: { input: { workspaceId: ws.id, userId: newcomer } } }));
    expect(added.addMember).toEqual({ user: { id: newcomer }, role: 'MEMBER' });
    expect(errorCode(await h.call(add, { caller: ws.people.ADMIN, variables: { input: { workspaceId: ws.id, userId: newcomer } } }))).toBe('ALREADY_MEMBER');
    expect(errorCode(await h.call(add, { caller: ws.owner, variables: { input: { workspaceId: ws.id, userId: 'not-a-uuid' } } }))).toBe('BAD_USER_INPUT');

    expect(errorCode(await h.call(CHANGE_ROLE, { caller: ws.people.ADMIN, variables: { input: { workspaceId: ws.id, userId: ws.owner.userId, role: 'VIEWER' } } }))).toBe('FORBIDDEN');
    expect(errorCode(await h.call(REMOVE, { caller: ws.people.ADMIN, variables: { w: ws.id, u: ws.owner.userId } }))).toBe('FORBIDDEN');
    expect(seed.ok(await h.call<{ changeMemberRole: { role: string } }>(CHANGE_ROLE, { caller: ws.people.ADMIN, variables: { input: { workspaceId: ws.id, userId: newcomer, role: 'VIEWER' } } })).changeMemberRole.role).toBe('VIEWER');
    expect(seed.ok(await h.call<{ removeMember: boolean }>(REMOVE, { caller: ws.people.ADMIN, variables: { w: ws.id, u: newcomer } })).removeMember).toBe(true);
    expect(errorCode(await h.call(REMOVE, { caller: ws.people.ADMIN, variables: { w: ws.id, u: newcomer } }))).toBe('NOT_FOUND');
  });

  it('adds a member by email once identity knows the address, and says NOT_FOUND when it does not', async () => {
    const ws = await seed.workspace();
    const add = 'mutation($input: AddMemberInput!) { addMember(input: $input) { user { id } role } }';
    const known = randomUUID();
    h.accounts.set('grace@example.com', known);
    const added = seed.ok(await h.call<{ addMember: { user: { id: string }; role: string } }>(add, { caller: ws.people.ADMIN, variables: { input: { workspaceId: ws.id, email: ' Grace@Example.com ', role: 'VIEWER' } } }));
    expect(added.addMember).toEqual({ user: { id: known }, role: 'VIEWER' });
    expect(errorCode(await h.call(add, { caller: ws.owner, variables: { input: { workspaceId: ws.id, email: 'grace@example.com' } } }))).toBe('ALREADY_MEMBER');

    const unknown = await h.call(add, { caller: ws.owner, variables: { input: { workspaceId: ws.id, email: 'nobody@example.com' } } });
    expect(errorCode(unknown)).toBe('NOT_FOUND');
    expect(unknown.body.errors![0]!.message).toBe('No account with this email');
    // Exactly one of userId and email; and an address must look like one.
    expect(errorCode(await h.call(add, { caller: ws.owner, variables: { input: { workspaceId: ws.id } } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.call(add, { caller: ws.owner, variables: { input: { workspaceId: ws.id, userId: randomUUID(), email: 'grace@example.com' } } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.call(add, { caller: ws.owner, variables: { input: { workspaceId: ws.id, email: 'not an address' } } }))).toBe('BAD_USER_INPUT');
  });

  it('looks an email up only for callers who manage members there (threat: probing which addresses have accounts)', async () => {
    const ws = await seed.workspace();
    const add = 'mutation($input: AddMemberInput!) { addMember(input: $input) { role } }';
    h.accounts.set('known@example.com', randomUUID());
    for (const email of ['known@example.com', 'unknown@example.com']) {
      const stranger = await h.call(add, { caller: userCaller(), variables: { input: { workspaceId: ws.id, email } } });
      expect(stranger.body.errors![0]!.message).toBe('No such workspace');
      expect(errorCode(await h.call(add, { caller: ws.people.MEMBER, variables: { input: { workspaceId: ws.id, email } } }))).toBe('FORBIDDEN');
    }
  });

  it('keeps the last owner: they cannot leave, be demoted or removed until another owner exists', async () => {
    const ws = await seed.workspace();
    expect(errorCode(await h.call(LEAVE, { caller: ws.owner, variables: { id: ws.id } }))).toBe('LAST_OWNER');
    expect(errorCode(await h.call(CHANGE_ROLE, { caller: ws.owner, variables: { input: { workspaceId: ws.id, userId: ws.owner.userId, role: 'ADMIN' } } }))).toBe('LAST_OWNER');
    expect(errorCode(await h.call(REMOVE, { caller: ws.owner, variables: { w: ws.id, u: ws.owner.userId } }))).toBe('LAST_OWNER');

    seed.ok(await h.call(CHANGE_ROLE, { caller: ws.owner, variables: { input: { workspaceId: ws.id, userId: ws.people.ADMIN.userId, role: 'OWNER' } } }));
    // Two owners leaving at once: the workspace row lock lets one go and keeps the other.
    const both = await Promise.all([ws.owner, ws.people.ADMIN].map((caller) => h.call(LEAVE, { caller, variables: { id: ws.id } })));
    expect(both.map((r) => errorCode(r) ?? 'ok').sort()).toEqual(['LAST_OWNER', 'ok']);
  });

  it('lets any member leave, and unassigns their todos when they go', async () => {
    const ws = await seed.workspace();
    const todo = await seed.todo(ws.people.MEMBER, { workspaceId: ws.id, title: 'Mine', assigneeId: ws.people.MEMBER.userId });
    expect(seed.ok(await h.call<{ leaveWorkspace: boolean }>(LEAVE, { caller: ws.people.MEMBER, variables: { id: ws.id } })).leaveWorkspace).toBe(true);
    const read = seed.ok(await h.call<{ workspace: { todos: { edges: { node: { id: string; assignee: null } }[] } } }>(
      'query($id: ID!) { workspace(id: $id) { todos { edges { node { id assignee { id } } } } } }',
      { caller: ws.owner, variables: { id: ws.id } },
    ));
    expect(read.workspace.todos.edges).toEqual([{ node: { id: todo.id, assignee: null } }]);
    expect(errorCode(await h.call(WORKSPACE, { caller: ws.people.MEMBER, variables: { id: ws.id } }))).toBe('NOT_FOUND');
  });
});

describe('who sees what', () => {
  it('answers a non-member NOT_FOUND, exactly as for a workspace that does not exist', async () => {
    const ws = await seed.workspace();
    const todo = await seed.todo(ws.owner, { workspaceId: ws.id, title: 'Secret' });
    const stranger = userCaller();
    const notMine = await h.call<{ workspace: null }>(WORKSPACE, { caller: stranger, variables: { id: ws.id } });
    const nowhere = await h.call<{ workspace: null }>(WORKSPACE, { caller: stranger, variables: { id: randomUUID() } });
    expect(notMine.body).toEqual({ ...nowhere.body, errors: [{ ...nowhere.body.errors![0]! }] });
    expect(errorCode(notMine)).toBe('NOT_FOUND');
    expect(notMine.body.data?.workspace).toBeNull();
    expect(errorCode(await h.call(RENAME, { caller: stranger, variables: { id: ws.id, name: 'mine' } }))).toBe('NOT_FOUND');
    expect(errorCode(await h.call('mutation($input: CreateTodoInput!) { createTodo(input: $input) { id } }', { caller: stranger, variables: { input: { workspaceId: ws.id, title: 'x' } } }))).toBe('NOT_FOUND');
    expect(errorCode(await h.call('mutation($id: ID!) { completeTodo(id: $id) { id } }', { caller: stranger, variables: { id: todo.id } }))).toBe('NOT_FOUND');
    expect(errorCode(await h.call('mutation($id: ID!) { deleteTodo(id: $id) }', { caller: stranger, variables: { id: todo.id } }))).toBe('NOT_FOUND');
  });

  it('lets viewers read todos but not write them (FORBIDDEN)', async () => {
    const ws = await seed.workspace();
    const todo = await seed.todo(ws.people.MEMBER, { workspaceId: ws.id, title: 'Read me' });
    const viewer = ws.people.VIEWER;
    const read = seed.ok(await h.call<{ workspace: { todos: { totalCount: number } } }>('query($id: ID!) { workspace(id: $id) { todos { totalCount } } }', { caller: viewer, variables: { id: ws.id } }));
    expect(read.workspace.todos.totalCount).toBe(1);
    expect(errorCode(await h.call('mutation($input: CreateTodoInput!) { createTodo(input: $input) { id } }', { caller: viewer, variables: { input: { workspaceId: ws.id, title: 'x' } } }))).toBe('FORBIDDEN');
    expect(errorCode(await h.call('mutation($id: ID!) { completeTodo(id: $id) { id } }', { caller: viewer, variables: { id: todo.id } }))).toBe('FORBIDDEN');
    expect(errorCode(await h.call('mutation($input: UpdateTodoInput!) { updateTodo(input: $input) { id } }', { caller: viewer, variables: { input: { id: todo.id, expectedVersion: 1, title: 'y' } } }))).toBe('FORBIDDEN');
    expect(errorCode(await h.call('mutation($id: ID!) { deleteTodo(id: $id) }', { caller: viewer, variables: { id: todo.id } }))).toBe('FORBIDDEN');
  });
});

describe('authz grant mirror', () => {
  it('mirrors every membership change as scoped grants after commit', async () => {
    const ws = await seed.workspace();
    await h.call(CHANGE_ROLE, { caller: ws.owner, variables: { input: { workspaceId: ws.id, userId: ws.people.VIEWER.userId, role: 'MEMBER' } } });
    await h.call(REMOVE, { caller: ws.owner, variables: { w: ws.id, u: ws.people.ADMIN.userId } });
    await h.app.mirror.settled();
    const scope = `workspace:${ws.id}`;
    expect(h.grants.held().filter((g) => g.endsWith(scope))).toEqual(
      [`${ws.owner.userId}|workspace-owner|${scope}`, `${ws.people.MEMBER.userId}|workspace-member|${scope}`, `${ws.people.VIEWER.userId}|workspace-member|${scope}`].sort(),
    );
    await h.call(DELETE, { caller: ws.owner, variables: { id: ws.id } });
    await h.app.mirror.settled();
    expect(h.grants.held().filter((g) => g.endsWith(scope))).toEqual([]);
  });

  it('keeps working from its own members table while authz is down', async () => {
    h.grants.down = true;
    try {
      const ws = await seed.workspace();
      const read = seed.ok(await h.call<{ workspace: { myRole: string } }>(WORKSPACE, { caller: ws.people.VIEWER, variables: { id: ws.id } }));
      expect(read.workspace.myRole).toBe('VIEWER');
      await h.app.mirror.settled();
      expect(h.grants.held().some((g) => g.endsWith(ws.id))).toBe(false);
    } finally {
      h.grants.down = false;
    }
  });
});

describe('events', () => {
  it('stages one event per workspace and membership change, with before and after', async () => {
    const ws = await seed.workspace('Evented');
    await h.call(RENAME, { caller: ws.owner, variables: { id: ws.id, name: 'Renamed' } });
    await h.call(CHANGE_ROLE, { caller: ws.owner, variables: { input: { workspaceId: ws.id, userId: ws.people.VIEWER.userId, role: 'ADMIN' } } });
    await h.call(REMOVE, { caller: ws.owner, variables: { w: ws.id, u: ws.people.MEMBER.userId } });
    await h.call(LEAVE, { caller: ws.people.ADMIN, variables: { id: ws.id } });
    await h.call(DELETE, { caller: ws.owner, variables: { id: ws.id } });
    const events = (await h.deliveredEvents()).filter((e) => e.target?.id === ws.id);
    expect(events.map((e) => e.action)).toEqual([
      'workspaces.workspace.created',
      'workspaces.member.added',
      'workspaces.member.added',
      'workspaces.member.added',
      'workspaces.workspace.renamed',
      'workspaces.member.role-changed',
      'workspaces.member.removed',
      'workspaces.member.left',
      'workspaces.workspace.deleted',
    ]);
    expect(events[0]).toMatchObject({ service: 'workspaces', actor: { type: 'user', id: ws.owner.userId }, target: { type: 'Workspace', id: ws.id }, changes: { after: { name: 'Evented' } } });
    expect(events[4]!.changes).toEqual({ before: { name: 'Evented' }, after: { name: 'Renamed' } });
    expect(events[5]!.changes).toEqual({ before: { userId: ws.people.VIEWER.userId, role: 'VIEWER' }, after: { userId: ws.people.VIEWER.userId, role: 'ADMIN' } });
  });

  it('stages a workspaces.todo.assigned event with the whole todo and a new version for each todo a removed member had', async () => {
    const ws = await seed.workspace();
    const member = ws.people.MEMBER;
    const todos = [
      await seed.todo(member, { workspaceId: ws.id, title: 'One', assigneeId: member.userId }),
      await seed.todo(member, { workspaceId: ws.id, title: 'Two', assigneeId: member.userId }),
    ];
    const kept = await seed.todo(member, { workspaceId: ws.id, title: 'Unassigned' });
    seed.ok(await h.call(REMOVE, { caller: ws.people.ADMIN, variables: { w: ws.id, u: member.userId } }));
    const ids = new Set([...todos.map((t) => t.id), kept.id]);
    const events = (await h.deliveredEvents()).filter((e) => e.target?.type === 'Todo' && ids.has(e.target.id!) && e.action !== 'workspaces.todo.created');
    expect(events.map((e) => [e.action, e.actor.id, e.target!.id]).sort()).toEqual(todos.map((t) => ['workspaces.todo.assigned', ws.people.ADMIN.userId, t.id]).sort());
    for (const event of events) {
      expect(event.changes!.before).toMatchObject({ workspaceId: ws.id, assigneeId: member.userId, version: 1 });
      expect(event.changes!.after).toMatchObject({ workspaceId: ws.id, assigneeId: null, version: 2, title: event.changes!.before!.title });
    }
    const read = seed.ok(await h.call<{ workspace: { todos: { edges: { node: { title: string; version: number; assignee: null } }[] } } }>(
      'query($id: ID!) { workspace(id: $id) { todos { edges { node { title version assignee { id } } } } } }',
      { caller: ws.owner, variables: { id: ws.id } },
    ));
    expect(read.workspace.todos.edges.map((e) => e.node)).toEqual([
      { title: 'One', version: 2, assignee: null },
      { title: 'Two', version: 2, assignee: null },
      { title: 'Unassigned', version: 1, assignee: null },
    ]);
  });

  it('stages nothing for a change that failed', async () => {
    const ws = await seed.workspace();
    const before = (await h.deliveredEvents()).length;
    expect(errorCode(await h.call(LEAVE, { caller: ws.owner, variables: { id: ws.id } }))).toBe('LAST_OWNER');
    expect((await h.deliveredEvents()).length).toBe(before);
  });
});
