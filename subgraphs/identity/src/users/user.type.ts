// The public face of an account: no secret can reach it, since it is a class of its own.
import { GraphQLDateTime } from 'graphql-scalars';
import { Directive, Field, ID, ObjectType } from 'type-graphql';
import { requiresScopes } from '@citadel/kit/permissions';
import type { User } from './user.entity';
import { USER_SCOPES } from './user.scopes';

@ObjectType('User')
@Directive('@key(fields: "id")')
export class UserType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  email!: string;

  @Field(() => Boolean, { description: 'Whether the owner proved they receive mail at `email`.' })
  emailVerified!: boolean;

  @Field(() => String)
  name!: string;

  @Field(() => GraphQLDateTime)
  createdAt!: Date;

  @Field(() => Boolean, { description: 'An administrator disabled the account: it cannot sign in.' })
  disabled!: boolean;

  @Field(() => GraphQLDateTime, { nullable: true, description: 'When the account was disabled; administrators only.' })
  @Directive(requiresScopes(USER_SCOPES.read))
  disabledAt!: Date | null;

  static from(user: User): UserType {
    return Object.assign(new UserType(), {
      id: user.id,
      email: user.email,
      emailVerified: user.emailVerifiedAt !== null,
      name: user.name,
      createdAt: user.createdAt,
      disabled: user.disabledAt !== null,
      disabledAt: user.disabledAt,
    });
  }
}
