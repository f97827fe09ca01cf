// Inputs for role management.
import { Field, ID, InputType } from 'type-graphql';

@InputType()
export class CreateRoleInput {
  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => [String], { nullable: true })
  permissions?: string[] | null;
}

@InputType()
export class UpdateRoleInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

@InputType()
export class SetRolePermissionsInput {
  @Field(() => ID)
  roleId!: string;

  @Field(() => [String])
  permissions!: string[];
}
