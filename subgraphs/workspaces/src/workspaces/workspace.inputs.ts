// Inputs of the membership mutations.
import { Field, ID, InputType } from 'type-graphql';
import type { WorkspaceRole } from './workspace.entity';
import { WorkspaceRoleEnum } from './workspace.type';

@InputType('AddMemberInput', { description: 'By user id: adding by email needs identity and is not built yet.' })
export class AddMemberInput {
  @Field(() => ID)
  workspaceId!: string;

  @Field(() => ID)
  userId!: string;

  @Field(() => WorkspaceRoleEnum, { defaultValue: 'MEMBER' })
  role!: WorkspaceRole;
}

@InputType('ChangeMemberRoleInput')
export class ChangeMemberRoleInput {
  @Field(() => ID)
  workspaceId!: string;

  @Field(() => ID)
  userId!: string;

  @Field(() => WorkspaceRoleEnum)
  role!: WorkspaceRole;
}
