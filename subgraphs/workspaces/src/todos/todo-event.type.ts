// GraphQL type of a live todo event (the todoEvents subscription).
import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { UserRef } from '../users/user.type';
import type { TodoEvent, TodoEventKind } from './todo-event-hub';
import { TodoType } from './todo.type';

export const TodoEventTypeEnum = {
  CREATED: 'CREATED',
  UPDATED: 'UPDATED',
  COMPLETED: 'COMPLETED',
  REOPENED: 'REOPENED',
  ASSIGNED: 'ASSIGNED',
  DELETED: 'DELETED',
} as const satisfies Record<TodoEventKind, TodoEventKind>;
registerEnumType(TodoEventTypeEnum, {
  name: 'TodoEventType',
  description: 'UPDATED: title, description or dueAt. ASSIGNED: assigned or unassigned. COMPLETED / REOPENED: status.',
});

@ObjectType('TodoEvent', { description: 'A committed change to a todo of a workspace you are a member of.' })
export class TodoEventType {
  @Field(() => TodoEventTypeEnum)
  type!: TodoEventKind;

  @Field(() => TodoType, {
    description: 'The todo exactly as this change left it (DELETED: as it was when deleted).',
  })
  todo!: TodoType;

  @Field(() => UserRef, { nullable: true, description: 'Who made the change; null when it was not a user.' })
  actor!: UserRef | null;

  static from(event: TodoEvent): TodoEventType {
    return Object.assign(new TodoEventType(), {
      type: event.type,
      todo: TodoType.from(event.todo),
      actor: event.actorId ? UserRef.of(event.actorId) : null,
    });
  }
}
