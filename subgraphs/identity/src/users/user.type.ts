// The public face of an account: no secret can reach it, since it is a class of its own.
import { GraphQLDateTime } from 'graphql-scalars';
import { Directive, Field, ID, ObjectType } from 'type-graphql';
import type { User } from './user.entity';

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

  static from(user: User): UserType {
    return Object.assign(new UserType(), {
      id: user.id,
      email: user.email,
      emailVerified: user.emailVerifiedAt !== null,
      name: user.name,
      createdAt: user.createdAt,
    });
  }
}
