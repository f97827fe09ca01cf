// Live todo events: one set of pubsub handlers per process fans the outbox relay's events out to
// the streams open here, by workspace. The relay publishes an event only after its transaction
// committed, so a subscriber never sees a change that rolled back; with Redis every node sees it.
// Todo events carry the whole todo (changes.before/after), so delivering one reads no database.
import type { AuditEventInput } from '@citadel/kit/audit-event';
import { EventStream } from '@citadel/kit/event-stream';
import type { Logger } from '@citadel/kit/logger';
import { EVENTS_CHANNEL } from '@citadel/kit/outbox';
import type { PubSub, Unsubscribe } from '@citadel/kit/pubsub';
import { eventsOverflowed, forbidden, noLongerMember, workspaceDeleted } from '../workspaces.errors';
import { roleAllows } from '../workspaces.permissions';
import type { WorkspaceRole } from '../workspaces/workspace.entity';
import { Todo, TODO_STATUSES } from './todo.entity';

export const TODO_EVENT_KINDS = ['CREATED', 'UPDATED', 'COMPLETED', 'REOPENED', 'ASSIGNED', 'DELETED'] as const;
export type TodoEventKind = (typeof TODO_EVENT_KINDS)[number];

export interface TodoEvent {
  type: TodoEventKind;
  /** The todo as of the event (DELETED: as it was when deleted), from the event itself. */
  todo: Todo;
  /** The user who made the change; null when it was not a user. */
  actorId: string | null;
}

const TODO_ACTIONS: Readonly<Record<string, TodoEventKind>> = {
  'workspaces.todo.created': 'CREATED',
  'workspaces.todo.updated': 'UPDATED',
  'workspaces.todo.completed': 'COMPLETED',
  'workspaces.todo.reopened': 'REOPENED',
  'workspaces.todo.assigned': 'ASSIGNED',
  'workspaces.todo.deleted': 'DELETED',
};
/** Events that end subscriptions: the subscriber may no longer read the workspace's todos. */
const ENDING_ACTIONS = ['workspaces.member.removed', 'workspaces.member.left', 'workspaces.member.role-changed', 'workspaces.workspace.deleted'];
const CHANNELS = [...Object.keys(TODO_ACTIONS), ...ENDING_ACTIONS].map((action) => `${EVENTS_CHANNEL}.${action}`);

export interface TodoEventHubOptions {
  pubsub: PubSub;
  logger: Logger;
  /** Events a subscription may have waiting for its reader before it is ended. Default 1,000. */
  maxQueue?: number;
}

interface Listener {
  userId: string;
  stream: EventStream<TodoEvent>;
}

export class TodoEventHub {
  /** Open subscriptions by workspace id (lower case). */
  private readonly listeners = new Map<string, Set<Listener>>();
  private count = 0;
  /** The pubsub handlers, held while any subscription is open. */
  private channels: Unsubscribe[] | undefined;
  /** Subscribing to and leaving the channels, one change at a time. */
  private syncing: Promise<unknown> = Promise.resolve();
  private readonly maxQueue: number;

  constructor(private readonly options: TodoEventHubOptions) {
    this.maxQueue = options.maxQueue ?? 1_000;
  }

  /** What is open now: subscriptions, workspaces they watch, pubsub channels held (metrics, tests). */
  get stats(): { subscriptions: number; workspaces: number; channels: number } {
    return { subscriptions: this.count, workspaces: this.listeners.size, channels: this.channels?.length ?? 0 };
  }

  /** Ends every subscription and leaves the channels (shutdown). */
  async close(): Promise<void> {
    for (const set of [...this.listeners.values()]) for (const listener of [...set]) await listener.stream.return();
    await this.sync();
  }

  /**
   * A stream of the workspace's todo events for this user, live once this resolves. It ends with an
   * error when the user is removed or leaves, or the workspace is deleted. Checking that the user may
   * read the workspace is the caller's job (TodoEventService).
   */
  async open(workspaceId: string, userId: string): Promise<EventStream<TodoEvent>> {
    workspaceId = workspaceId.toLowerCase();
    userId = userId.toLowerCase();
    const listener: Listener = {
      userId,
      stream: new EventStream<TodoEvent>({
        maxQueue: this.maxQueue,
        overflow: () => eventsOverflowed(this.maxQueue),
        onClose: () => this.remove(workspaceId, listener),
      }),
    };
    let set = this.listeners.get(workspaceId);
    if (!set) this.listeners.set(workspaceId, (set = new Set()));
    set.add(listener);
    this.count += 1;
    try {
      await this.sync();
    } catch (error) {
      await listener.stream.return();
      throw error;
    }
    return listener.stream;
  }

  private remove(workspaceId: string, listener: Listener): Promise<void> {
    const set = this.listeners.get(workspaceId);
    if (!set?.delete(listener)) return Promise.resolve();
    if (set.size === 0) this.listeners.delete(workspaceId);
    this.count -= 1;
    return this.count === 0 ? this.sync().catch(() => undefined) : Promise.resolve();
  }

  /** Holds the channels while a subscription is open and leaves them when the last one ends. */
  private sync(): Promise<void> {
    const run = this.syncing.then(() => this.reconcile());
    this.syncing = run.catch(() => undefined);
    return run;
  }

  private async reconcile(): Promise<void> {
    if (this.count > 0 && !this.channels) {
      const results = await Promise.allSettled(CHANNELS.map((channel) => this.options.pubsub.subscribe(channel, this.receive)));
      const held = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        await Promise.allSettled(held.map((unsubscribe) => unsubscribe()));
        this.options.logger.error({ err: failed.reason }, 'could not subscribe to todo events');
        throw failed.reason;
      }
      this.channels = held;
    } else if (this.count === 0 && this.channels) {
      const held = this.channels;
      this.channels = undefined;
      await Promise.allSettled(held.map((unsubscribe) => unsubscribe()));
    }
  }

  /** One handler for every channel; events of workspaces nobody here watches are dropped at once. */
  private readonly receive = (message: unknown): void => {
    if (!isEvent(message)) return;
    const workspaceId = workspaceOf(message);
    const listeners = workspaceId ? this.listeners.get(workspaceId) : undefined;
    if (!workspaceId || !listeners) return;
    const kind = TODO_ACTIONS[message.action];
    if (kind) {
      const todo = todoFromSnapshot(message.target?.id, kind === 'DELETED' ? message.changes?.before : message.changes?.after);
      // An event written before todo events carried the whole todo cannot be shown: skip it.
      if (!todo || todo.workspaceId.toLowerCase() !== workspaceId) return;
      // One object for every stream: each subscription maps it in its own execution.
      const change: TodoEvent = { type: kind, todo, actorId: message.actor.type === 'user' ? message.actor.id : null };
      for (const listener of listeners) listener.stream.push(change);
      return;
    }
    this.endFor(message, listeners);
  };

  /** Membership and workspace events: end the streams of whoever may no longer read these todos. */
  private endFor(event: AuditEventInput, listeners: Set<Listener>): void {
    if (event.action === 'workspaces.workspace.deleted') return this.end(listeners, workspaceDeleted);
    // Membership events name the member; one without a member ends nobody's subscription.
    const userId = stringOf(event.changes?.before?.userId ?? event.changes?.after?.userId)?.toLowerCase();
    if (!userId) return;
    if (event.action === 'workspaces.member.removed' || event.action === 'workspaces.member.left') return this.end(listeners, noLongerMember, userId);
    if (event.action === 'workspaces.member.role-changed') {
      const role = stringOf(event.changes?.after?.role) as WorkspaceRole | undefined;
      if (role && roleAllows(role, 'workspaces.todo.read')) return;
      this.end(listeners, () => forbidden(`Your role in this workspace (${role ?? 'none'}) no longer allows reading its todos`), userId);
    }
  }

  /** Ends the listeners (those of one user, if given): each reader gets what is queued, then the error. */
  private end(listeners: Set<Listener>, error: () => unknown, userId?: string): void {
    for (const listener of [...listeners]) {
      if (userId === undefined || listener.userId === userId) listener.stream.end(error());
    }
  }
}

function isEvent(message: unknown): message is AuditEventInput {
  if (typeof message !== 'object' || message === null) return false;
  const event = message as Partial<AuditEventInput>;
  return typeof event.action === 'string' && typeof event.actor === 'object' && event.actor !== null;
}

/** The workspace an event belongs to: todo events carry it in their todo, the others name it as target. */
function workspaceOf(event: AuditEventInput): string | undefined {
  const id = TODO_ACTIONS[event.action] ? (event.changes?.after ?? event.changes?.before)?.workspaceId : event.target?.type === 'Workspace' ? event.target.id : undefined;
  return stringOf(id)?.toLowerCase();
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function dateOf(value: unknown): Date | null {
  if (typeof value !== 'string' && !(value instanceof Date)) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The todo a todo event carries (whole, as before/after); null if it is incomplete. */
export function todoFromSnapshot(id: string | null | undefined, snapshot: Record<string, unknown> | null | undefined): Todo | null {
  if (!id || !snapshot) return null;
  const { workspaceId, title, createdBy, version, status } = snapshot;
  const createdAt = dateOf(snapshot.createdAt);
  const updatedAt = dateOf(snapshot.updatedAt);
  if (typeof workspaceId !== 'string' || typeof title !== 'string' || typeof createdBy !== 'string' || typeof version !== 'number') return null;
  if (!createdAt || !updatedAt || !TODO_STATUSES.includes(status as Todo['status'])) return null;
  return Object.assign(new Todo(), {
    id,
    workspaceId,
    title,
    description: typeof snapshot.description === 'string' ? snapshot.description : null,
    status: status as Todo['status'],
    dueAt: dateOf(snapshot.dueAt),
    assigneeId: stringOf(snapshot.assigneeId) ?? null,
    createdBy,
    version,
    createdAt,
    updatedAt,
  });
}
