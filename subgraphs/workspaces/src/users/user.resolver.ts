// What workspaces adds to identity's User: your workspaces and the todos assigned to you.
import { DEFAULT_PAGE_SIZE, mapPage } from '@citadel/kit/connection';
import { Arg, Ctx, Directive, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { listTodos } from '../todos/todo-list';
import { TodoConnectionType, TodoType } from '../todos/todo.type';
import { requireUser, type WorkspacesContext } from '../workspaces.context';
import type { WorkspaceService } from '../workspaces/workspace.service';
import { WorkspaceType } from '../workspaces/workspace.type';
import { UserRef } from './user.type';

@Resolver(() => UserRef)
export class UserResolver {
  constructor(private readonly memberships: WorkspaceService) {}

  @FieldResolver(() => [WorkspaceType], { description: "Your workspaces, oldest first; empty on anyone else's User." })
  @Directive('@authenticated')
  async workspaces(@Root() user: UserRef, @Ctx() ctx: WorkspacesContext): Promise<WorkspaceType[]> {
    if (user.id !== requireUser(ctx)) return [];
    return (await this.memberships.forUser(ctx.em, user.id)).map((w) => WorkspaceType.from(w.workspace, w.role));
  }

  @FieldResolver(() => TodoConnectionType, { description: "Todos assigned to you in your workspaces, oldest first; empty on anyone else's User." })
  @Directive('@authenticated')
  async assignedTodos(
    @Root() user: UserRef,
    @Arg('first', () => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE, description: '1 to 100.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: WorkspacesContext,
  ): Promise<TodoConnectionType> {
    if (user.id !== requireUser(ctx)) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 };
    const page = await listTodos(ctx.em, { assignedTo: user.id }, {}, first ?? DEFAULT_PAGE_SIZE, after);
    return mapPage(page, TodoType.from);
  }
}
