// Todo use cases: idempotent create, versioned update, complete/reopen/assign/delete. Members and
// above write, viewers read; each change stages its event in its transaction.
import { createHash, randomUUID } from 'node:crypto';
import { AppError, badUserInput, COMMON_ERRORS } from '@citadel/kit/errors';
import type { Outbox } from '@citadel/kit/outbox';
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { idempotencyKeyReused, todoNotFound, versionConflict } from '../workspaces.errors';
import { requireAccess, UUID } from '../workspaces/access';
import { MemberEntity } from '../workspaces/workspace.entity';
import { TodoEntity, type Todo } from './todo.entity';

export interface CreateTodo {
  workspaceId: string;
  title: string;
  description?: string | null;
  dueAt?: Date | null;
  assigneeId?: string | null;
  idempotencyKey?: string | null;
}

/** Absent fields stay as they are; `null` clears description and dueAt. */
export interface UpdateTodo {
  id: string;
  expectedVersion: number;
  title?: string | null;
  description?: string | null;
  dueAt?: Date | null;
}

const MAX_TITLE = 200;
const MAX_DESCRIPTION = 10_000;
const MAX_KEY = 200;

export class TodoService {
  /** `idempotencyKeyTtlMs`: a key older than this counts as new (and is purged by `purgeExpiredKeys`). */
  constructor(
    private readonly outbox: Outbox,
    private readonly idempotencyKeyTtlMs = 24 * 3_600_000,
  ) {}

  /**
   * With an idempotency key, a retry returns the todo the first request created, and a racing
   * duplicate waits on the key's row (the insert's unique check) and then does the same. A key
   * past its expiry is taken over by this request, as if it were new.
   */
  async create(em: EntityManager, actorId: string, input: CreateTodo): Promise<Todo> {
    const fields = {
      title: validTitle(input.title),
      description: validDescription(input.description ?? null),
      dueAt: input.dueAt ?? null,
      assigneeId: input.assigneeId ? validUserId(input.assigneeId, 'assigneeId') : null,
    };
    const key = input.idempotencyKey ?? null;
    if (key !== null && (key.length === 0 || key.length > MAX_KEY)) throw badUserInput(`\`idempotencyKey\` must be 1 to ${MAX_KEY} characters`, { field: 'idempotencyKey' });
    return em.transactional(async (tx) => {
      await requireAccess(tx, input.workspaceId, actorId, 'workspaces.todo.write');
      const id = randomUUID();
      if (key !== null) {
        const hash = requestHash(fields);
        const inserted = await tx.execute<{ todo_id: string }[]>(
          `insert into "workspaces"."idempotency_keys" as k ("workspace_id", "user_id", "key", "request_hash", "todo_id")
            values (?, ?, ?, ?, ?)
            on conflict ("workspace_id", "user_id", "key") do update
              set "request_hash" = excluded."request_hash", "todo_id" = excluded."todo_id", "created_at" = now()
              where k."created_at" <= now() - (? * interval '1 millisecond')
            returning "todo_id"`,
          [input.workspaceId, actorId, key, hash, id, this.idempotencyKeyTtlMs],
        );
        if (inserted.length === 0) return this.replay(tx, input.workspaceId, actorId, key, hash);
      }
      if (fields.assigneeId) await assertMember(tx, input.workspaceId, fields.assigneeId);
      const now = new Date();
      const todo = tx.create(TodoEntity, { id, workspaceId: input.workspaceId, ...fields, status: 'OPEN', createdBy: actorId, version: 1, createdAt: now, updatedAt: now });
      this.outbox.add(tx, { action: 'workspaces.todo.created', target: target(id), changes: { after: snapshot(todo) } });
      return todo;
    });
  }

  /** Deletes idempotency keys past their expiry; returns how many. */
  async purgeExpiredKeys(em: EntityManager): Promise<number> {
    const rows = await em.execute<{ key: string }[]>(
      `delete from "workspaces"."idempotency_keys" where "created_at" <= now() - (? * interval '1 millisecond') returning "key"`,
      [this.idempotencyKeyTtlMs],
    );
    return rows.length;
  }

  /** VERSION_CONFLICT when the todo changed since `expectedVersion` was read. */
  async update(em: EntityManager, actorId: string, input: UpdateTodo): Promise<Todo> {
    const changes: Partial<Pick<Todo, 'title' | 'description' | 'dueAt'>> = {};
    if (input.title !== undefined) changes.title = validTitle(input.title ?? '');
    if (input.description !== undefined) changes.description = validDescription(input.description);
    if (input.dueAt !== undefined) changes.dueAt = input.dueAt;
    return this.change(em, actorId, input.id, 'workspaces.todo.updated', (todo) => {
      if (todo.version !== input.expectedVersion) throw versionConflict(todo.version);
      return changes;
    });
  }

  complete(em: EntityManager, actorId: string, id: string): Promise<Todo> {
    return this.change(em, actorId, id, 'workspaces.todo.completed', () => ({ status: 'DONE' }));
  }

  reopen(em: EntityManager, actorId: string, id: string): Promise<Todo> {
    return this.change(em, actorId, id, 'workspaces.todo.reopened', () => ({ status: 'OPEN' }));
  }

  /** `null` unassigns. The assignee must be a member of the todo's workspace. */
  assign(em: EntityManager, actorId: string, id: string, assigneeId: string | null): Promise<Todo> {
    const assignee = assigneeId ? validUserId(assigneeId, 'assigneeId') : null;
    return this.change(em, actorId, id, 'workspaces.todo.assigned', async (todo, tx) => {
      if (assignee) await assertMember(tx, todo.workspaceId, assignee);
      return { assigneeId: assignee };
    });
  }

  async delete(em: EntityManager, actorId: string, id: string): Promise<boolean> {
    await em.transactional(async (tx) => {
      const todo = await this.lockedForWrite(tx, actorId, id);
      this.outbox.add(tx, { action: 'workspaces.todo.deleted', target: target(id), changes: { before: snapshot(todo) } });
      tx.remove(todo);
    });
    return true;
  }

  /**
   * Applies what `decide` returns to the locked todo; a change that changes nothing is no event and
   * no new version (completing a done todo twice is harmless). The event holds the whole todo before
   * and after: live subscribers are shown it as of this change, with no read of a row that may have
   * moved on since.
   */
  private change(
    em: EntityManager,
    actorId: string,
    id: string,
    action: string,
    decide: (todo: Todo, tx: EntityManager) => Partial<Todo> | Promise<Partial<Todo>>,
  ): Promise<Todo> {
    return em.transactional(async (tx) => {
      const todo = await this.lockedForWrite(tx, actorId, id);
      const wanted = await decide(todo, tx);
      const changed = (Object.entries(wanted) as [keyof Todo, unknown][]).filter(([field, value]) => !sameValue(todo[field], value));
      if (changed.length === 0) return todo;
      const before = snapshot(todo);
      Object.assign(todo, Object.fromEntries(changed), { version: todo.version + 1, updatedAt: new Date() });
      this.outbox.add(tx, { action, target: target(id), changes: { before, after: snapshot(todo) } });
      return todo;
    });
  }

  /** The todo locked for update, if the caller may write in its workspace (NOT_FOUND otherwise). */
  private async lockedForWrite(tx: EntityManager, actorId: string, id: string): Promise<Todo> {
    if (!UUID.test(id)) throw todoNotFound();
    const todo = await tx.findOne(TodoEntity, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!todo) throw todoNotFound();
    try {
      await requireAccess(tx, todo.workspaceId, actorId, 'workspaces.todo.write');
    } catch (error) {
      // A non-member must not learn the todo exists: the workspace's NOT_FOUND becomes the todo's.
      if (error instanceof AppError && error.code === COMMON_ERRORS.NOT_FOUND) throw todoNotFound();
      throw error;
    }
    return todo;
  }

  private async replay(tx: EntityManager, workspaceId: string, userId: string, key: string, hash: string): Promise<Todo> {
    const [row] = await tx.execute<{ request_hash: string; todo_id: string }[]>(
      `select "request_hash", "todo_id" from "workspaces"."idempotency_keys" where "workspace_id" = ? and "user_id" = ? and "key" = ?`,
      [workspaceId, userId, key],
    );
    if (!row || row.request_hash !== hash) throw idempotencyKeyReused();
    const todo = await tx.findOne(TodoEntity, { id: row.todo_id });
    // The first request's todo was deleted since: the key still may not make a second one.
    if (!todo) throw todoNotFound();
    return todo;
  }
}

async function assertMember(em: EntityManager, workspaceId: string, userId: string): Promise<void> {
  const member = await em.findOne(MemberEntity, { workspaceId, userId });
  if (!member) throw badUserInput('The assignee must be a member of the workspace', { field: 'assigneeId' });
}

function requestHash(fields: { title: string; description: string | null; dueAt: Date | null; assigneeId: string | null }): string {
  const canonical = JSON.stringify([fields.title, fields.description, fields.dueAt?.toISOString() ?? null, fields.assigneeId]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** Every column of the todo but its id (the event's target): what todo events carry as before and after. */
export function snapshot(todo: Todo): Record<string, unknown> {
  return {
    workspaceId: todo.workspaceId,
    title: todo.title,
    description: todo.description,
    status: todo.status,
    dueAt: todo.dueAt,
    assigneeId: todo.assigneeId,
    createdBy: todo.createdBy,
    version: todo.version,
    createdAt: todo.createdAt,
    updatedAt: todo.updatedAt,
  };
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b;
}

function validTitle(title: string): string {
  const clean = title.trim().normalize('NFC');
  if (clean.length === 0 || clean.length > MAX_TITLE) throw badUserInput(`\`title\` must be 1 to ${MAX_TITLE} characters`, { field: 'title' });
  return clean;
}

function validDescription(description: string | null): string | null {
  if (description === null) return null;
  if (description.length > MAX_DESCRIPTION) throw badUserInput(`\`description\` must be at most ${MAX_DESCRIPTION} characters`, { field: 'description' });
  return description;
}

function validUserId(id: string, field: string): string {
  if (!UUID.test(id)) throw badUserInput(`\`${field}\` is not a valid user id`, { field });
  return id.toLowerCase();
}

const target = (id: string) => ({ type: 'Todo', id });
