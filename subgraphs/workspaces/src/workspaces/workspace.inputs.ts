// Inputs of the membership mutations.
import { Field, ID, InputType } from 'type-graphql';
import type { WorkspaceRole } from './workspace.entity';
import { WorkspaceRoleEnum } from './workspace.type';

@InputType('AddMemberInput', { description: 'Exactly one of userId and email (BAD_USER_INPUT otherwise).' })
export class AddMemberInput {
  @Field(() => ID)
  workspaceId!: string;

  @Field(() => ID, { nullable: true })
  userId?: string | null;

  @Field(() => String, { nullable: true, description: "The account's email address; NOT_FOUND when no account has it." })
  email?: string | null;

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
