// GraphQL types of todos and their connection; assignee, createdBy and workspace are field resolvers.
import { ConnectionType, EdgeType } from '@citadel/kit/connection';
import { GraphQLDateTime } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { Todo, TodoStatus } from './todo.entity';

export const TodoStatusEnum = { OPEN: 'OPEN', DONE: 'DONE' } as const;
registerEnumType(TodoStatusEnum, { name: 'TodoStatus' });

@ObjectType('Todo')
export class TodoType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  title!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => TodoStatusEnum)
  status!: TodoStatus;

  @Field(() => GraphQLDateTime, { nullable: true })
  dueAt!: Date | null;

  @Field(() => Int, { description: 'Goes up with every change; pass it to updateTodo as expectedVersion.' })
  version!: number;

  @Field(() => GraphQLDateTime)
  createdAt!: Date;

  @Field(() => GraphQLDateTime)
  updatedAt!: Date;

  workspaceId!: string;
  assigneeId!: string | null;
  createdById!: string;

  static from(todo: Todo): TodoType {
    return Object.assign(new TodoType(), {
      id: todo.id,
      title: todo.title,
      description: todo.description,
      status: todo.status,
      dueAt: todo.dueAt,
      version: todo.version,
      createdAt: todo.createdAt,
      updatedAt: todo.updatedAt,
      workspaceId: todo.workspaceId,
      assigneeId: todo.assigneeId,
      createdById: todo.createdBy,
    });
  }
}

@ObjectType('TodoEdge')
export class TodoEdgeType extends EdgeType(TodoType) {}

@ObjectType('TodoConnection')
export class TodoConnectionType extends ConnectionType(TodoEdgeType) {}
