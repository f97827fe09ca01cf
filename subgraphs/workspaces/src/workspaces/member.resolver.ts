// Membership mutations: add, change role, remove, leave. Owner rules live in WorkspaceService.
import { Arg, Ctx, Directive, ID, Mutation, Resolver } from 'type-graphql';
import { requireUser, type WorkspacesContext } from '../workspaces.context';
import { AddMemberInput, ChangeMemberRoleInput } from './workspace.inputs';
import type { WorkspaceService } from './workspace.service';
import { WorkspaceMemberType } from './workspace.type';

@Resolver(() => WorkspaceMemberType)
export class MemberResolver {
  constructor(private readonly workspaces: WorkspaceService) {}

  @Mutation(() => WorkspaceMemberType, { description: 'Owners and admins; only an owner adds an owner. ALREADY_MEMBER when they are in.' })
  @Directive('@authenticated')
  async addMember(@Arg('input', () => AddMemberInput) input: AddMemberInput, @Ctx() ctx: WorkspacesContext): Promise<WorkspaceMemberType> {
    return WorkspaceMemberType.from(await this.workspaces.addMember(ctx.em, requireUser(ctx), input));
  }

  @Mutation(() => WorkspaceMemberType, { description: "Owners and admins; only an owner touches an owner's role. LAST_OWNER for the last owner." })
  @Directive('@authenticated')
  async changeMemberRole(@Arg('input', () => ChangeMemberRoleInput) input: ChangeMemberRoleInput, @Ctx() ctx: WorkspacesContext): Promise<WorkspaceMemberType> {
    return WorkspaceMemberType.from(await this.workspaces.changeMemberRole(ctx.em, requireUser(ctx), input));
  }

  @Mutation(() => Boolean, { description: 'Owners and admins; only an owner removes an owner. Their todos are unassigned.' })
  @Directive('@authenticated')
  removeMember(
    @Arg('workspaceId', () => ID) workspaceId: string,
    @Arg('userId', () => ID) userId: string,
    @Ctx() ctx: WorkspacesContext,
  ): Promise<boolean> {
    return this.workspaces.removeMember(ctx.em, requireUser(ctx), workspaceId, userId);
  }

  @Mutation(() => Boolean, { description: 'Leaves the workspace. LAST_OWNER when you are its only owner.' })
  @Directive('@authenticated')
  leaveWorkspace(@Arg('id', () => ID) id: string, @Ctx() ctx: WorkspacesContext): Promise<boolean> {
    return this.workspaces.leave(ctx.em, requireUser(ctx), id);
  }
}
