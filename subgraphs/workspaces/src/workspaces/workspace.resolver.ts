// Workspaces: read one, create, rename, delete; Workspace.members and Workspace.todos. Every
// check past "signed in" is object-level, from the members table (workspace.service.ts).
import { DEFAULT_PAGE_SIZE, mapPage } from '@citadel/kit/connection';
import { requiresScopes } from '@citadel/kit/permissions';
import { Arg, Ctx, Directive, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { TodoFilterInput } from '../todos/todo.inputs';
import { listTodos } from '../todos/todo-list';
import { TodoConnectionType, TodoType } from '../todos/todo.type';
import { requireUser, type WorkspacesContext } from '../workspaces.context';
import { forbidden } from '../workspaces.errors';
import { roleAllows, type WorkspacesPermission } from '../workspaces.permissions';
import type { WorkspaceService } from './workspace.service';
import { WorkspaceMemberType, WorkspaceType } from './workspace.type';

@Resolver(() => WorkspaceType)
export class WorkspaceResolver {
  constructor(private readonly workspaces: WorkspaceService) {}

  @Query(() => WorkspaceType, { nullable: true, description: 'A workspace you are a member of; NOT_FOUND (and null) otherwise.' })
  @Directive('@authenticated')
  async workspace(@Arg('id', () => ID) id: string, @Ctx() ctx: WorkspacesContext): Promise<WorkspaceType> {
    const { workspace, role } = await this.workspaces.get(ctx.em, requireUser(ctx), id);
    return WorkspaceType.from(workspace, role);
  }

  // The one global permission here (held by role `user`); the rest are per workspace, from members.
  @Mutation(() => WorkspaceType, { description: 'Creates a workspace; you become its owner.' })
  @Directive('@authenticated')
  @Directive(requiresScopes<WorkspacesPermission>('workspaces.workspace.create'))
  async createWorkspace(@Arg('name', () => String) name: string, @Ctx() ctx: WorkspacesContext): Promise<WorkspaceType> {
    return WorkspaceType.from(await this.workspaces.create(ctx.em, requireUser(ctx), name), 'OWNER');
  }

  @Mutation(() => WorkspaceType, { description: 'Owners and admins.' })
  @Directive('@authenticated')
  async renameWorkspace(@Arg('id', () => ID) id: string, @Arg('name', () => String) name: string, @Ctx() ctx: WorkspacesContext): Promise<WorkspaceType> {
    const { workspace, role } = await this.workspaces.rename(ctx.em, requireUser(ctx), id, name);
    return WorkspaceType.from(workspace, role);
  }

  @Mutation(() => Boolean, { description: 'Owners only. The workspace and its todos disappear for every member.' })
  @Directive('@authenticated')
  deleteWorkspace(@Arg('id', () => ID) id: string, @Ctx() ctx: WorkspacesContext): Promise<boolean> {
    return this.workspaces.delete(ctx.em, requireUser(ctx), id);
  }

  @FieldResolver(() => [WorkspaceMemberType], { description: 'Everyone in the workspace, in the order they joined.' })
  async members(@Root() workspace: WorkspaceType, @Ctx() ctx: WorkspacesContext): Promise<WorkspaceMemberType[]> {
    return (await ctx.loaders.membersByWorkspace.load(workspace.id)).map(WorkspaceMemberType.from);
  }

  @FieldResolver(() => TodoConnectionType, { description: 'Oldest first.' })
  async todos(
    @Root() workspace: WorkspaceType,
    @Arg('filter', () => TodoFilterInput, { nullable: true }) filter: TodoFilterInput | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE, description: '1 to 100.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: WorkspacesContext,
  ): Promise<TodoConnectionType> {
    // A WorkspaceType is only made for a member; its role says whether they may read todos.
    if (!roleAllows(workspace.myRole, 'workspaces.todo.read')) throw forbidden('Your role cannot read todos here');
    // First pages batch across workspaces (User.workspaces { todos }); a cursor is one workspace's.
    const page =
      after == null
        ? await ctx.loaders.firstTodos(filter ?? {}, first ?? DEFAULT_PAGE_SIZE).load(workspace.id)
        : await listTodos(ctx.em, { workspaceId: workspace.id }, filter ?? {}, first ?? DEFAULT_PAGE_SIZE, after);
    return mapPage(page, TodoType.from);
  }
}
