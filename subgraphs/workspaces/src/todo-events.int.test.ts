// The todoEvents subscription against real PostgreSQL (and Redis when REDIS_URL is set), over
// graphql-ws as the gateway uses it: what a member receives and in what order, who is refused,
// what ends a subscription, and that nothing stays subscribed once it ends.
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { ANONYMOUS, InternalTokenMinter } from '@citadel/kit/auth';
import { generateSigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { createPubSub } from '@citadel/kit/pubsub';
import { errorCode } from '@citadel/kit/testing/graphql-client';
import { connectAsGateway, watch, type Watch } from './testing/live';
import { seeder } from './testing/seed';
import { startWorkspaces, userCaller, useWorkspaces, type WorkspacesHarness } from './testing/workspaces-harness';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('todoEvents across nodes not tested: REDIS_URL is not set (CI sets it)');

const h = useWorkspaces();
const seed = seeder(h);

const TODO = 'id title description status dueAt version createdAt updatedAt assignee { id } createdBy { id } workspace { id }';
const WATCH = `subscription($w: ID!) { todoEvents(workspaceId: $w) { type actor { id } todo { ${TODO} } } }`;
const CREATE = `mutation($input: CreateTodoInput!) { createTodo(input: $input) { ${TODO} } }`;
const UPDATE = `mutation($input: UpdateTodoInput!) { updateTodo(input: $input) { ${TODO} } }`;
const COMPLETE = `mutation($id: ID!) { completeTodo(id: $id) { ${TODO} } }`;
const REOPEN = `mutation($id: ID!) { reopenTodo(id: $id) { ${TODO} } }`;
const ASSIGN = `mutation($id: ID!, $a: ID) { assignTodo(id: $id, assigneeId: $a) { ${TODO} } }`;
const DELETE_TODO = 'mutation($id: ID!) { deleteTodo(id: $id) }';
const REMOVE = 'mutation($w: ID!, $u: ID!) { removeMember(workspaceId: $w, userId: $u) }';
const LEAVE = 'mutation($id: ID!) { leaveWorkspace(id: $id) }';
const DELETE_WORKSPACE = 'mutation($id: ID!) { deleteWorkspace(id: $id) }';

type TodoFields = { id: string; title: string; description: string | null; status: string; dueAt: string | null; version: number; assignee: { id: string } | null; createdBy: { id: string }; workspace: { id: string } | null };
type Feed = { todoEvents: { type: string; actor: { id: string } | null; todo: TodoFields } };

const codes = (result: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) => (result.errors ?? []).map((e) => e.extensions?.code);
const changes = (w: Watch<Feed>) => w.events.map((e) => e.data!.todoEvents);
const NOTHING_HELD = { subscriptions: 0, workspaces: 0, channels: 0 };

/** Nothing open on this node: no subscription served, no stream in the fan-out, no pubsub channel held. */
async function nothingLeft(node: WorkspacesHarness = h): Promise<void> {
  await expect.poll(() => ({ active: node.app.subscriptions.active, ...node.app.todoEvents.stats })).toEqual({ active: 0, ...NOTHING_HELD });
}

describe('todoEvents for a member', () => {
  it('delivers CREATED, UPDATED, COMPLETED, REOPENED, ASSIGNED and DELETED in order, each with the todo as of that change and who made it', async () => {
    const ws = await seed.workspace();
    const { MEMBER: member, ADMIN: admin, VIEWER: viewer } = ws.people;
    const feed = await h.live(() => h.subscribe<Feed>(WATCH, { caller: viewer, variables: { w: ws.id } }));
    const expected: { type: string; actor: { id: string }; todo: TodoFields }[] = [];
    const step = async (type: string, actor: typeof member, todo: TodoFields) => {
      expected.push({ type, actor: { id: actor.userId! }, todo });
      await feed.waitFor(expected.length);
    };

    const input = { workspaceId: ws.id, title: 'Draft', description: 'v1', dueAt: '2027-01-01T00:00:00.000Z' };
    const created = seed.ok(await h.call<{ createTodo: TodoFields }>(CREATE, { caller: member, variables: { input } })).createTodo;
    await step('CREATED', member, created);
    const id = created.id;
    await step('UPDATED', admin, seed.ok(await h.call<{ updateTodo: TodoFields }>(UPDATE, { caller: admin, variables: { input: { id, expectedVersion: 1, title: 'Final', dueAt: null } } })).updateTodo);
    await step('COMPLETED', member, seed.ok(await h.call<{ completeTodo: TodoFields }>(COMPLETE, { caller: member, variables: { id } })).completeTodo);
    await step('REOPENED', ws.owner, seed.ok(await h.call<{ reopenTodo: TodoFields }>(REOPEN, { caller: ws.owner, variables: { id } })).reopenTodo);
    const assigned = seed.ok(await h.call<{ assignTodo: TodoFields }>(ASSIGN, { caller: member, variables: { id, a: viewer.userId } })).assignTodo;
    await step('ASSIGNED', member, assigned);
    seed.ok(await h.call(DELETE_TODO, { caller: admin, variables: { id } }));
    // The row is gone: the deleted todo comes from the event's snapshot, exactly as it last was.
    await step('DELETED', admin, assigned);

    expect(changes(feed)).toEqual(expected);
    expect(changes(feed).map((c) => [c.type, c.todo.version, c.todo.status, c.todo.title, c.todo.assignee?.id ?? null])).toEqual([
      ['CREATED', 1, 'OPEN', 'Draft', null],
      ['UPDATED', 2, 'OPEN', 'Final', null],
      ['COMPLETED', 3, 'DONE', 'Final', null],
      ['REOPENED', 4, 'OPEN', 'Final', null],
      ['ASSIGNED', 5, 'OPEN', 'Final', viewer.userId],
      ['DELETED', 5, 'OPEN', 'Final', viewer.userId],
    ]);
    expect(feed.events.every((e) => e.errors === undefined)).toBe(true);
    feed.unsubscribe();
  });

  it('delivers nothing from another workspace, and nothing for a change that failed (VERSION_CONFLICT) or changed nothing', async () => {
    const ws = await seed.workspace();
    const other = await seed.workspace();
    const feed = await h.live(() => h.subscribe<Feed>(WATCH, { caller: ws.owner, variables: { w: ws.id } }));
    const elsewhere = await seed.todo(other.owner, { workspaceId: other.id, title: 'Elsewhere' });
    await h.call(COMPLETE, { caller: other.owner, variables: { id: elsewhere.id } });
    const todo = await seed.todo(ws.owner, { workspaceId: ws.id, title: 'Here' });
    expect(errorCode(await h.call(UPDATE, { caller: ws.owner, variables: { input: { id: todo.id, expectedVersion: 7, title: 'Lost' } } }))).toBe('VERSION_CONFLICT');
    expect(errorCode(await h.call(COMPLETE, { caller: ws.people.VIEWER, variables: { id: todo.id } }))).toBe('FORBIDDEN');
    seed.ok(await h.call(REOPEN, { caller: ws.owner, variables: { id: todo.id } })); // open already: no change, no event
    seed.ok(await h.call(COMPLETE, { caller: ws.owner, variables: { id: todo.id } }));
    // Events reach the feed in commit order, so anything wrongly delivered would sit between these two.
    await feed.waitFor(2);
    await h.app.relay.settle();
    expect(changes(feed).map((c) => [c.type, c.todo.title, c.todo.version])).toEqual([
      ['CREATED', 'Here', 1],
      ['COMPLETED', 'Here', 2],
    ]);
    feed.unsubscribe();
  });

  it('keeps a burst of changes in order, each with the todo exactly as that change left it', async () => {
    const ws = await seed.workspace();
    const feed = await h.live(() => h.subscribe<Feed>(WATCH, { caller: ws.owner, variables: { w: ws.id } }));
    const todo = await seed.todo(ws.owner, { workspaceId: ws.id, title: 'v1' });
    // No waiting between changes: by the time an event is sent the todo has moved on, which must not show.
    await Promise.all([
      (async () => {
        for (let version = 1; version <= 10; version++) {
          seed.ok(await h.call(UPDATE, { caller: ws.owner, variables: { input: { id: todo.id, expectedVersion: version, title: `v${version + 1}` } } }));
        }
      })(),
      feed.waitFor(11),
    ]);
    expect(changes(feed).map((c) => [c.type, c.todo.version, c.todo.title])).toEqual(
      Array.from({ length: 11 }, (_, i) => [i === 0 ? 'CREATED' : 'UPDATED', i + 1, `v${i + 1}`]),
    );
    feed.unsubscribe();
  });

  it('shows each todo a removed or leaving member had as ASSIGNED to no one, with a new version', async () => {
    const ws = await seed.workspace();
    const { MEMBER: member, ADMIN: admin, VIEWER: viewer } = ws.people;
    const mine = await seed.todo(member, { workspaceId: ws.id, title: 'Mine', assigneeId: member.userId });
    const also = await seed.todo(admin, { workspaceId: ws.id, title: 'Also mine', assigneeId: member.userId });
    const theirs = await seed.todo(admin, { workspaceId: ws.id, title: 'Theirs', assigneeId: admin.userId });
    const feed = await h.live(() => h.subscribe<Feed>(WATCH, { caller: viewer, variables: { w: ws.id } }));
    seed.ok(await h.call(REMOVE, { caller: ws.owner, variables: { w: ws.id, u: member.userId } }));
    await feed.waitFor(2);
    expect(changes(feed).map((c) => [c.type, c.actor?.id, c.todo.id, c.todo.version, c.todo.assignee]).sort()).toEqual(
      [
        ['ASSIGNED', ws.owner.userId, mine.id, 2, null],
        ['ASSIGNED', ws.owner.userId, also.id, 2, null],
      ].sort(),
    );
    // Leaving does the same, and nothing else was touched.
    seed.ok(await h.call(LEAVE, { caller: admin, variables: { id: ws.id } }));
    await feed.waitFor(3);
    expect(changes(feed)[2]).toMatchObject({ type: 'ASSIGNED', actor: { id: admin.userId }, todo: { id: theirs.id, version: 2, assignee: null } });
    feed.unsubscribe();
  });

  it('delivers an event to every subscriber without reading the database for it', async () => {
    const ws = await seed.workspace();
    const lean = 'subscription($w: ID!) { todoEvents(workspaceId: $w) { type actor { id } todo { id title version assignee { id } createdBy { id } } } }';
    const feeds: Watch<Feed>[] = [];
    for (const caller of [ws.owner, ws.people.ADMIN, ws.people.MEMBER, ws.people.VIEWER]) feeds.push(await h.live(() => h.subscribe<Feed>(lean, { caller, variables: { w: ws.id } })));
    const from = h.statements.length;
    await seed.todo(ws.owner, { workspaceId: ws.id, title: 'Popular' });
    await Promise.all(feeds.map((f) => f.waitFor(1)));
    const statements = h.statements.slice(from);
    // createTodo's own: its access check reads the member once and reads no todo.
    expect(statements.filter((sql) => /from "workspaces"\."todos"/.test(sql))).toEqual([]);
    expect(statements.filter((sql) => /from "workspaces"\."members"/.test(sql))).toHaveLength(1);
    for (const feed of feeds) feed.unsubscribe();
    await nothingLeft();
  });
});

describe('who may subscribe', () => {
  it('refuses a non-member, an unknown workspace, a malformed id and a deleted workspace with NOT_FOUND, sending nothing else', async () => {
    const ws = await seed.workspace();
    const gone = await seed.workspace();
    seed.ok(await h.call(DELETE_WORKSPACE, { caller: gone.owner, variables: { id: gone.id } }));
    for (const [caller, workspaceId] of [
      [userCaller(), ws.id],
      [ws.owner, randomUUID()],
      [ws.owner, 'not-a-workspace'],
      [gone.owner, gone.id],
    ] as const) {
      const refused = h.subscribe<Feed>(WATCH, { caller, variables: { w: workspaceId } });
      expect(await refused.ended).toEqual({});
      expect(refused.events).toHaveLength(1);
      expect(refused.events[0]!.data ?? null).toBeNull();
      expect(codes(refused.events[0]!)).toEqual(['NOT_FOUND']);
    }
    await nothingLeft();
  });

  it('refuses a connection that carries no internal token, or one minted for another subgraph (4403)', async () => {
    const ws = await seed.workspace();
    for (const connectionToken of [null, () => h.token(ANONYMOUS, 'identity')]) {
      const client = connectAsGateway(h.baseUrl, connectionToken);
      const refused = watch<Feed>(client, WATCH, { variables: { w: ws.id }, authorization: h.token(ws.owner).then((t) => `Bearer ${t}`) });
      const { error } = await refused.ended;
      expect((error as { code: number }).code).toBe(4403);
      expect(refused.events).toEqual([]);
      await client.dispose();
    }
    await nothingLeft();
  });

  it('refuses a subscription whose caller token is missing, malformed, for another subgraph or not signed by the gateway (UNAUTHENTICATED), and an anonymous caller', async () => {
    const ws = await seed.workspace();
    const stranger = new InternalTokenMinter(await generateSigningKey());
    const tokens = ['', 'Bearer not-a-jwt', `Bearer ${await h.token(ws.owner, 'identity')}`, `Bearer ${await stranger.mint(ws.owner, 'workspaces')}`];
    for (const authorization of tokens) {
      const refused = h.subscribe<Feed>(WATCH, { variables: { w: ws.id }, authorization });
      const { error } = await refused.ended;
      expect((error as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
      expect(refused.events).toEqual([]);
    }
    const anonymous = h.subscribe<Feed>(WATCH, { caller: ANONYMOUS, variables: { w: ws.id } });
    expect(((await anonymous.ended).error as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code)).toEqual(['UNAUTHORIZED_FIELD_OR_TYPE']);
    // The refusals ended those subscriptions only: the shared connection still serves a member.
    const feed = await h.live(() => h.subscribe<Feed>(WATCH, { caller: ws.owner, variables: { w: ws.id } }));
    await seed.todo(ws.owner, { workspaceId: ws.id, title: 'Still here' });
    expect((await feed.waitFor(1))[0]!.data!.todoEvents.todo.title).toBe('Still here');
    feed.unsubscribe();
    await nothingLeft();
  });
});

describe('what ends a subscription', () => {
  it("ends a removed member's and a leaving member's subscription with FORBIDDEN, then completes them, while another member's keeps working", async () => {
    const ws = await seed.workspace();
    const removed = await h.live(() => h.subscribe<Feed>(WATCH, { caller: ws.people.MEMBER, variables: { w: ws.id } }));
    const leaving = await h.live(() => h.subscribe<Feed>(WATCH, { caller: ws.people.VIEWER, variables: { w: ws.id } }));
    const staying = await h.live(() => h.subscribe<Feed>(WATCH, { caller: ws.people.ADMIN, variables: { w: ws.id } }));
    await seed.todo(ws.owner, { workspaceId: ws.id, title: 'Everyone sees this' });
    await Promise.all([removed, leaving, staying].map((f) => f.waitFor(1)));

    seed.ok(await h.call(REMOVE, { caller: ws.owner, variables: { w: ws.id, u: ws.people.MEMBER.userId } }));
    seed.ok(await h.call(LEAVE, { caller: ws.people.VIEWER, variables: { id: ws.id } }));
    for (const ended of [removed, leaving]) {
      expect(await ended.ended).toEqual({});
      expect(ended.events).toHaveLength(2);
      expect(ended.events[1]).toMatchObject({ errors: [{ message: 'You are no longer a member of this workspace', extensions: { code: 'FORBIDDEN' } }] });
      expect(ended.events[1]!.data ?? null).toBeNull();
    }

    await seed.todo(ws.owner, { workspaceId: ws.id, title: 'Only the admin sees this' });
    await staying.waitFor(2);
    expect(changes(staying).map((c) => c.todo.title)).toEqual(['Everyone sees this', 'Only the admin sees this']);
    expect(staying.isEnded()).toBe(false);
    await expect.poll(() => h.app.todoEvents.stats).toMatchObject({ subscriptions: 1, workspaces: 1 });
    staying.unsubscribe();
    await nothingLeft();
  });

  it('ends every subscription to a deleted workspace with NOT_FOUND', async () => {
    const ws = await seed.workspace();
    const feeds = [await h.live(() => h.subscribe<Feed>(WATCH, { caller: ws.owner, variables: { w: ws.id } })), await h.live(() => h.subscribe<Feed>(WATCH, { caller: ws.people.VIEWER, variables: { w: ws.id } }))];
    seed.ok(await h.call(DELETE_WORKSPACE, { caller: ws.owner, variables: { id: ws.id } }));
    for (const feed of feeds) {
      expect(await feed.ended).toEqual({});
      expect(feed.events.map(codes)).toEqual([['NOT_FOUND']]);
    }
    await nothingLeft();
  });

  it('leaves nothing subscribed once subscriptions end, whether the client completes them or its socket closes', async () => {
    const ws = await seed.workspace();
    const own = h.connect();
    const onShared: Watch<Feed>[] = [];
    const onOwn: Watch<Feed>[] = [];
    for (const caller of [ws.owner, ws.people.MEMBER, ws.people.VIEWER]) {
      onShared.push(await h.live(() => h.subscribe<Feed>(WATCH, { caller, variables: { w: ws.id } })));
      onOwn.push(await h.live(() => watch<Feed>(own, WATCH, { variables: { w: ws.id }, authorization: h.token(caller).then((t) => `Bearer ${t}`) })));
    }
    expect(h.app.subscriptions.active).toBe(6);
    expect(h.app.todoEvents.stats).toMatchObject({ subscriptions: 6, workspaces: 1 });
    expect(h.app.todoEvents.stats.channels).toBeGreaterThan(0);

    for (const feed of onShared) feed.unsubscribe();
    await expect.poll(() => [h.app.subscriptions.active, h.app.todoEvents.stats.subscriptions]).toEqual([3, 3]);
    await own.dispose();
    await nothingLeft();
    // A change now reaches no one and holds nothing.
    await seed.todo(ws.owner, { workspaceId: ws.id, title: 'Nobody listens' });
    await h.app.relay.settle();
    await nothingLeft();
  });

  it('closes open subscriptions when the server shuts down instead of waiting on their sockets', async () => {
    const node = await startWorkspaces(inject('adminDatabaseUrl'));
    const nodeSeed = seeder(node);
    const ws = await nodeSeed.workspace();
    const feed = await node.live(() => node.subscribe<Feed>(WATCH, { caller: ws.owner, variables: { w: ws.id } }));
    await node.stop();
    const { error } = await feed.ended;
    expect((error as { code: number }).code).toBe(1001);
    expect(node.app.todoEvents.stats).toEqual(NOTHING_HELD);
  });
});

describe.skipIf(!REDIS_URL)('across nodes (Redis)', () => {
  it('delivers a change made through one node to subscribers on both, once each', async () => {
    const logger = createLogger('workspaces-test', 'silent');
    const first = await startWorkspaces(inject('adminDatabaseUrl'), { pubsub: createPubSub(REDIS_URL, logger) });
    const second = await startWorkspaces(inject('adminDatabaseUrl'), { join: first, pubsub: createPubSub(REDIS_URL, logger) });
    try {
      const ws = await seeder(first).workspace();
      const onSecond = await second.live(() => second.subscribe<Feed>(WATCH, { caller: ws.people.VIEWER, variables: { w: ws.id } }));
      const onFirst = await first.live(() => first.subscribe<Feed>(WATCH, { caller: ws.people.MEMBER, variables: { w: ws.id } }));
      const todo = await seeder(first).todo(ws.people.MEMBER, { workspaceId: ws.id, title: 'Made on the first node' });
      seed.ok(await second.call(COMPLETE, { caller: ws.owner, variables: { id: todo.id } }));
      for (const feed of [onSecond, onFirst]) {
        await feed.waitFor(2);
        expect(changes(feed).map((c) => [c.type, c.todo.id, c.todo.status, c.actor?.id])).toEqual([
          ['CREATED', todo.id, 'OPEN', ws.people.MEMBER.userId],
          ['COMPLETED', todo.id, 'DONE', ws.owner.userId],
        ]);
      }
      // A removal made on one node ends the subscription held on the other.
      seed.ok(await first.call(REMOVE, { caller: ws.owner, variables: { w: ws.id, u: ws.people.VIEWER.userId } }));
      expect(await onSecond.ended).toEqual({});
      expect(onSecond.events.map((e) => e.data?.todoEvents.type ?? codes(e))).toEqual(['CREATED', 'COMPLETED', ['FORBIDDEN']]);
      // Once each: with both relays idle, anything sent twice would arrive before this last change.
      await Promise.all([first.app.relay.settle(), second.app.relay.settle()]);
      await seeder(second).todo(ws.owner, { workspaceId: ws.id, title: 'Last' });
      await onFirst.waitFor(3);
      expect(changes(onFirst).map((c) => [c.type, c.todo.title])).toEqual([
        ['CREATED', 'Made on the first node'],
        ['COMPLETED', 'Made on the first node'],
        ['CREATED', 'Last'],
      ]);
      onFirst.unsubscribe();
      await nothingLeft(first);
      await nothingLeft(second);
    } finally {
      await second.stop();
      await first.stop();
    }
  });
});
