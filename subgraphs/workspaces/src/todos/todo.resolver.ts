// Todo mutations and Todo's relations (assignee and creator as User references, its workspace).
import { Arg, Ctx, Directive, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { UserRef } from '../users/user.type';
import { requireUser, type WorkspacesContext } from '../workspaces.context';
import { WorkspaceType } from '../workspaces/workspace.type';
import { CreateTodoInput, UpdateTodoInput } from './todo.inputs';
import type { TodoService } from './todo.service';
import { TodoType } from './todo.type';

@Resolver(() => TodoType)
export class TodoResolver {
  constructor(private readonly todos: TodoService) {}

  @Mutation(() => TodoType, { description: 'Members, admins and owners. Pass an idempotencyKey to make retries safe.' })
  @Directive('@authenticated')
  async createTodo(@Arg('input', () => CreateTodoInput) input: CreateTodoInput, @Ctx() ctx: WorkspacesContext): Promise<TodoType> {
    return TodoType.from(await this.todos.create(ctx.em, requireUser(ctx), input));
  }

  @Mutation(() => TodoType, { description: 'VERSION_CONFLICT when the todo changed since expectedVersion.' })
  @Directive('@authenticated')
  async updateTodo(@Arg('input', () => UpdateTodoInput) input: UpdateTodoInput, @Ctx() ctx: WorkspacesContext): Promise<TodoType> {
    return TodoType.from(await this.todos.update(ctx.em, requireUser(ctx), input));
  }

  @Mutation(() => TodoType)
  @Directive('@authenticated')
  async completeTodo(@Arg('id', () => ID) id: string, @Ctx() ctx: WorkspacesContext): Promise<TodoType> {
    return TodoType.from(await this.todos.complete(ctx.em, requireUser(ctx), id));
  }

  @Mutation(() => TodoType)
  @Directive('@authenticated')
  async reopenTodo(@Arg('id', () => ID) id: string, @Ctx() ctx: WorkspacesContext): Promise<TodoType> {
    return TodoType.from(await this.todos.reopen(ctx.em, requireUser(ctx), id));
  }

  @Mutation(() => TodoType, { description: 'Null unassigns. The assignee must be a member of the workspace (BAD_USER_INPUT).' })
  @Directive('@authenticated')
  async assignTodo(
    @Arg('id', () => ID) id: string,
    @Arg('assigneeId', () => ID, { nullable: true }) assigneeId: string | null,
    @Ctx() ctx: WorkspacesContext,
  ): Promise<TodoType> {
    return TodoType.from(await this.todos.assign(ctx.em, requireUser(ctx), id, assigneeId));
  }

  @Mutation(() => Boolean)
  @Directive('@authenticated')
  deleteTodo(@Arg('id', () => ID) id: string, @Ctx() ctx: WorkspacesContext): Promise<boolean> {
    return this.todos.delete(ctx.em, requireUser(ctx), id);
  }

  @FieldResolver(() => UserRef, { nullable: true })
  assignee(@Root() todo: TodoType): UserRef | null {
    return todo.assigneeId ? UserRef.of(todo.assigneeId) : null;
  }

  @FieldResolver(() => UserRef)
  createdBy(@Root() todo: TodoType): UserRef {
    return UserRef.of(todo.createdById);
  }

  @FieldResolver(() => WorkspaceType, { nullable: true, description: 'Null once you are no longer a member.' })
  async workspace(@Root() todo: TodoType, @Ctx() ctx: WorkspacesContext): Promise<WorkspaceType | null> {
    const visible = await ctx.loaders.visibleWorkspace.load(todo.workspaceId);
    return visible ? WorkspaceType.from(visible.workspace, visible.role) : null;
  }
}
