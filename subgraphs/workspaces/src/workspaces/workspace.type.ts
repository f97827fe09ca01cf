// GraphQL types of workspaces and their members; relations are field resolvers.
import { GraphQLDateTime } from 'graphql-scalars';
import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { UserRef } from '../users/user.type';
import type { Member, Workspace, WorkspaceRole } from './workspace.entity';

export const WorkspaceRoleEnum = { OWNER: 'OWNER', ADMIN: 'ADMIN', MEMBER: 'MEMBER', VIEWER: 'VIEWER' } as const;
registerEnumType(WorkspaceRoleEnum, {
  name: 'WorkspaceRole',
  description: 'OWNER: everything, including deleting the workspace. ADMIN: rename, manage members, todos. MEMBER: read and write todos. VIEWER: read.',
});

@ObjectType('Workspace', { description: 'A shared list of todos and the people in it.' })
@Directive('@key(fields: "id")')
export class WorkspaceType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => GraphQLDateTime)
  createdAt!: Date;

  @Field(() => GraphQLDateTime)
  updatedAt!: Date;

  @Field(() => WorkspaceRoleEnum, { description: 'Your role in this workspace.' })
  myRole!: WorkspaceRole;

  static from(workspace: Workspace, myRole: WorkspaceRole): WorkspaceType {
    return Object.assign(new WorkspaceType(), {
      id: workspace.id,
      name: workspace.name,
      createdAt: workspace.createdAt,
      updatedAt: workspace.updatedAt,
      myRole,
    });
  }
}

@ObjectType('WorkspaceMember')
export class WorkspaceMemberType {
  @Field(() => UserRef)
  user!: UserRef;

  @Field(() => WorkspaceRoleEnum)
  role!: WorkspaceRole;

  @Field(() => GraphQLDateTime)
  addedAt!: Date;

  static from(member: Member): WorkspaceMemberType {
    return Object.assign(new WorkspaceMemberType(), { user: UserRef.of(member.userId), role: member.role, addedAt: member.addedAt });
  }
}
