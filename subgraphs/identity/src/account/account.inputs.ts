// Inputs for password reset and change.
import { Field, InputType } from 'type-graphql';

@InputType()
export class ResetPasswordInput {
  @Field(() => String, { description: 'The token from the reset link.' })
  token!: string;

  @Field(() => String)
  newPassword!: string;
}

@InputType()
export class ChangePasswordInput {
  @Field(() => String)
  currentPassword!: string;

  @Field(() => String)
  newPassword!: string;
}
