// Input for granting and revoking a role.
import { Field, ID, InputType } from 'type-graphql';

@InputType()
export class RoleGrantInput {
  @Field(() => ID)
  userId!: string;

  @Field(() => ID)
  roleId!: string;

  @Field(() => String, { defaultValue: 'global', description: '"global", or a resource such as "workspace:<id>".' })
  scope!: string;
}
