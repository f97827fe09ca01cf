// Inputs for account creation, login and the admin account list.
import { Field, InputType } from 'type-graphql';

@InputType()
export class RegisterInput {
  @Field(() => String)
  email!: string;

  @Field(() => String)
  password!: string;

  @Field(() => String)
  name!: string;
}

@InputType()
export class LoginInput {
  @Field(() => String)
  email!: string;

  @Field(() => String)
  password!: string;
}

@InputType('UserFilter')
export class UserFilterInput {
  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the email or the name.' })
  search?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Only disabled (true) or only enabled (false) accounts.' })
  disabled?: boolean | null;
}
