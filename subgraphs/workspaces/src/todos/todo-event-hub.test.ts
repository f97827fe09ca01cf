// The fan-out of live todo events, with the in-memory pubsub: who gets which event, in what order,
// what ends a stream, and that nothing stays subscribed.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuditEventInput } from '@citadel/kit/audit-event';
import { AppError } from '@citadel/kit/errors';
import { createLogger } from '@citadel/kit/logger';
import { MemoryPubSub } from '@citadel/kit/pubsub';
import { TodoEventHub, todoFromSnapshot, type TodoEvent } from './todo-event-hub';

const logger = createLogger('workspaces-test', 'silent');

function setup(options: { maxQueue?: number } = {}) {
  const pubsub = new MemoryPubSub();
  const hub = new TodoEventHub({ pubsub, logger, maxQueue: options.maxQueue });
  const publish = (action: string, fields: Partial<AuditEventInput>) =>
    pubsub.publish(`events.${action}`, { id: randomUUID(), action, actor: { type: 'user', id: ALICE, sessionId: null }, target: null, changes: null, ...fields });
  /** A todo event as TodoService writes it: the whole todo after the change (before, for a delete). */
  const changed = (workspaceId: string, action = 'workspaces.todo.updated', fields: Record<string, unknown> = {}) => {
    const id = randomUUID();
    const todo = { workspaceId, title: 'T', description: null, status: 'OPEN', dueAt: null, assigneeId: null, createdBy: ALICE, version: 1, createdAt: NOW, updatedAt: NOW, ...fields };
    const changes = action === 'workspaces.todo.deleted' ? { before: todo, after: null } : { before: null, after: todo };
    return publish(action, { target: { type: 'Todo', id }, changes }).then(() => id);
  };
  return { hub, pubsub, publish, changed };
}

const NOW = '2026-01-02T03:04:05.678Z';
const ALICE = randomUUID();
const BOB = randomUUID();

/** Reads until the stream ends: the events, then the error it ended with (if any). */
async function readAll(stream: AsyncIterator<TodoEvent>): Promise<{ events: TodoEvent[]; error?: unknown }> {
  const events: TodoEvent[] = [];
  try {
    for (let step = await stream.next(); !step.done; step = await stream.next()) events.push(step.value);
  } catch (error) {
    return { events, error };
  }
  return { events };
}

describe('TodoEventHub', () => {
  it("fans each event out to the workspace's streams only, in order, with the todo it carries", async () => {
    const { hub, changed } = setup();
    const ws = randomUUID();
    const other = randomUUID();
    const [a, b, elsewhere] = await Promise.all([hub.open(ws, ALICE), hub.open(ws, BOB), hub.open(other.toUpperCase(), ALICE)]);
    const created = await changed(ws, 'workspaces.todo.created', { title: 'Ship', dueAt: '2027-01-01T00:00:00.000Z' });
    await changed(other);
    const deleted = await changed(ws, 'workspaces.todo.deleted', { title: 'Gone', description: '', status: 'DONE', createdBy: BOB, version: 3 });
    for (const stream of [a, b]) {
      const first = (await stream.next()).value as TodoEvent;
      expect(first).toMatchObject({ type: 'CREATED', todo: { id: created, workspaceId: ws, title: 'Ship', status: 'OPEN', version: 1 }, actorId: ALICE });
      expect(first.todo.dueAt).toEqual(new Date('2027-01-01T00:00:00.000Z'));
      expect(first.todo.updatedAt).toEqual(new Date(NOW));
      expect((await stream.next()).value).toMatchObject({ type: 'DELETED', todo: { id: deleted, title: 'Gone', status: 'DONE', version: 3, description: '', createdBy: BOB } });
    }
    expect((await elsewhere.next()).value).toMatchObject({ type: 'UPDATED', todo: { workspaceId: other } });
    await Promise.all([a.return(), b.return(), elsewhere.return()]);
  });

  it('says who acted only when it was a user, and skips a todo event that does not carry a whole todo', async () => {
    const { hub, publish, changed } = setup();
    const ws = randomUUID();
    const stream = await hub.open(ws, ALICE);
    await publish('workspaces.todo.completed', { target: { type: 'Todo', id: randomUUID() }, changes: { before: { status: 'OPEN', version: 1 }, after: { workspaceId: ws, status: 'DONE', version: 2 } } });
    await publish('workspaces.todo.updated', { actor: { type: 'service', id: 'workspaces', sessionId: null }, target: { type: 'Todo', id: randomUUID() }, changes: { before: null, after: { workspaceId: ws, title: 'By the service', status: 'OPEN', createdBy: ALICE, version: 2, createdAt: NOW, updatedAt: NOW } } });
    expect((await stream.next()).value).toMatchObject({ type: 'UPDATED', todo: { title: 'By the service' }, actorId: null });
    await changed(ws);
    expect((await stream.next()).value).toMatchObject({ actorId: ALICE });
    await stream.return();
  });

  it("ends only the removed member's stream, after what was queued for it, and keeps the others", async () => {
    const { hub, changed, publish } = setup();
    const ws = randomUUID();
    const alice = await hub.open(ws, ALICE);
    const bob = await hub.open(ws, BOB.toUpperCase());
    await changed(ws);
    await publish('workspaces.member.removed', { target: { type: 'Workspace', id: ws }, changes: { before: { userId: BOB, role: 'MEMBER' }, after: null } });
    const ended = await readAll(bob);
    expect(ended.events).toHaveLength(1);
    expect(ended.error).toBeInstanceOf(AppError);
    expect(ended.error).toMatchObject({ code: 'FORBIDDEN', message: 'You are no longer a member of this workspace' });
    await changed(ws);
    expect((await alice.next()).value).toMatchObject({ type: 'UPDATED' });
    expect((await alice.next()).value).toMatchObject({ type: 'UPDATED' });
    expect(hub.stats).toMatchObject({ subscriptions: 1, workspaces: 1 });
    await alice.return();
  });

  it('ends every stream of a deleted workspace with NOT_FOUND, and a member whose role can no longer read with FORBIDDEN', async () => {
    const { hub, publish } = setup();
    const ws = randomUUID();
    const streams = [await hub.open(ws, ALICE), await hub.open(ws, BOB)];
    await publish('workspaces.member.role-changed', { target: { type: 'Workspace', id: ws }, changes: { before: { userId: ALICE, role: 'MEMBER' }, after: { userId: ALICE, role: 'VIEWER' } } });
    await publish('workspaces.member.role-changed', { target: { type: 'Workspace', id: ws }, changes: { before: { userId: BOB, role: 'MEMBER' }, after: { userId: BOB, role: 'NO-SUCH-ROLE' } } });
    expect((await readAll(streams[1]!)).error).toMatchObject({ code: 'FORBIDDEN' });
    await publish('workspaces.workspace.deleted', { target: { type: 'Workspace', id: ws }, changes: { before: { name: 'x', members: 2 }, after: { deleted: true } } });
    expect((await readAll(streams[0]!)).error).toMatchObject({ code: 'NOT_FOUND', message: 'This workspace was deleted' });
    await expect.poll(() => hub.stats).toEqual({ subscriptions: 0, workspaces: 0, channels: 0 });
  });

  it('ends a stream whose reader falls more than maxQueue behind with SUBSCRIPTION_INTERRUPTED, and forgets it', async () => {
    const { hub, changed } = setup({ maxQueue: 2 });
    const ws = randomUUID();
    const slow = await hub.open(ws, ALICE);
    for (let i = 0; i < 3; i++) await changed(ws);
    await expect.poll(() => hub.stats.subscriptions).toBe(0);
    expect((await readAll(slow)).error).toMatchObject({ code: 'SUBSCRIPTION_INTERRUPTED' });
  });

  it('holds its pubsub channels only while a stream is open, however streams come and go', async () => {
    const { hub, changed } = setup();
    const ws = randomUUID();
    expect(hub.stats).toEqual({ subscriptions: 0, workspaces: 0, channels: 0 });
    const first = await hub.open(ws, ALICE);
    const held = hub.stats.channels;
    expect(held).toBeGreaterThan(0);
    // Churn while a channel change is in flight must settle in the state the streams ask for.
    const churn = await Promise.all(Array.from({ length: 20 }, (_, i) => hub.open(i % 2 ? ws : randomUUID(), BOB)));
    await Promise.all(churn.map((s) => s.return()));
    expect(hub.stats).toEqual({ subscriptions: 1, workspaces: 1, channels: held });
    await first.return();
    await first.closedPromise();
    expect(hub.stats).toEqual({ subscriptions: 0, workspaces: 0, channels: 0 });
    // And it comes back for the next one.
    const again = await hub.open(ws, ALICE);
    await changed(ws);
    expect((await again.next()).value).toMatchObject({ type: 'UPDATED' });
    await hub.close();
    expect(hub.stats).toEqual({ subscriptions: 0, workspaces: 0, channels: 0 });
    expect(await again.next()).toEqual({ value: undefined, done: true });
  });
});

describe('todoFromSnapshot', () => {
  it('needs the whole todo: a partial one (an event written before they were whole) gives nothing rather than half a todo', () => {
    expect(todoFromSnapshot(randomUUID(), { workspaceId: randomUUID(), title: 'Old', status: 'OPEN', version: 1 })).toBeNull();
  });
});
