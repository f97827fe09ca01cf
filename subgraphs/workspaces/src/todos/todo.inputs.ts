// Inputs of the todo mutations and the todo list filter.
import { GraphQLDateTime } from 'graphql-scalars';
import { Field, ID, InputType, Int } from 'type-graphql';
import type { TodoStatus } from './todo.entity';
import { TodoStatusEnum } from './todo.type';

@InputType('CreateTodoInput')
export class CreateTodoInput {
  @Field(() => ID)
  workspaceId!: string;

  @Field(() => String)
  title!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => GraphQLDateTime, { nullable: true })
  dueAt?: Date | null;

  @Field(() => ID, { nullable: true, description: 'A member of the workspace.' })
  assigneeId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Retrying with the same key returns the todo the first request created; the same key with other input is IDEMPOTENCY_KEY_REUSED.',
  })
  idempotencyKey?: string | null;
}

@InputType('UpdateTodoInput', { description: 'Fields left out stay as they are; null clears description and dueAt.' })
export class UpdateTodoInput {
  @Field(() => ID)
  id!: string;

  @Field(() => Int, { description: 'The version you read; VERSION_CONFLICT when the todo has changed since.' })
  expectedVersion!: number;

  @Field(() => String, { nullable: true })
  title?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => GraphQLDateTime, { nullable: true })
  dueAt?: Date | null;
}

@InputType('TodoFilter')
export class TodoFilterInput {
  @Field(() => TodoStatusEnum, { nullable: true })
  status?: TodoStatus | null;

  @Field(() => ID, { nullable: true })
  assigneeId?: string | null;

  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the title or description.' })
  search?: string | null;
}
