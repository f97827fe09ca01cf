// A todo in a workspace, versioned for optimistic concurrency, and createTodo's idempotency keys.
import { EntitySchema } from '@mikro-orm/postgresql';

export const TODO_STATUSES = ['OPEN', 'DONE'] as const;
export type TodoStatus = (typeof TODO_STATUSES)[number];

export class Todo {
  id!: string;
  workspaceId!: string;
  title!: string;
  description: string | null = null;
  status: TodoStatus = 'OPEN';
  dueAt: Date | null = null;
  assigneeId: string | null = null;
  createdBy!: string;
  version = 1;
  createdAt: Date = new Date();
  updatedAt: Date = new Date();
}

export const TodoEntity = new EntitySchema<Todo>({
  class: Todo,
  tableName: 'todos',
  properties: {
    id: { type: 'uuid', primary: true },
    workspaceId: { type: 'uuid' },
    title: { type: 'string', length: 200 },
    description: { type: 'text', nullable: true },
    status: { type: 'string', length: 8 },
    dueAt: { type: 'Date', nullable: true },
    assigneeId: { type: 'uuid', nullable: true },
    createdBy: { type: 'uuid' },
    version: { type: 'integer' },
    createdAt: { type: 'Date', defaultRaw: 'now()' },
    updatedAt: { type: 'Date', defaultRaw: 'now()' },
  },
});

/** What todo a (workspace, user, key) created, and a hash of the request that created it. */
export class IdempotencyKey {
  workspaceId!: string;
  userId!: string;
  key!: string;
  requestHash!: string;
  todoId!: string;
  createdAt: Date = new Date();
}

export const IdempotencyKeyEntity = new EntitySchema<IdempotencyKey>({
  class: IdempotencyKey,
  tableName: 'idempotency_keys',
  properties: {
    workspaceId: { type: 'uuid', primary: true },
    userId: { type: 'uuid', primary: true },
    key: { type: 'string', length: 200, primary: true },
    requestHash: { type: 'string', length: 64 },
    todoId: { type: 'uuid' },
    createdAt: { type: 'Date', defaultRaw: 'now()' },
  },
});
