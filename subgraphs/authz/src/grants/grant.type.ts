// Grants and the slice of identity's User that authz extends.
import { GraphQLDateTime } from 'graphql-scalars';
import { Directive, Field, ID, ObjectType } from 'type-graphql';
import { RoleType } from '../roles/role.type';
import type { Grant } from './grant.entity';

/** identity's account, as authz knows it: by id only. */
@ObjectType('User')
@Directive('@key(fields: "id")')
export class UserRef {
  @Field(() => ID)
  id!: string;

  static of(id: string): UserRef {
    return Object.assign(new UserRef(), { id });
  }
}

@ObjectType('Grant', { description: 'A role held by a user, globally or inside one resource.' })
export class GrantType {
  @Field(() => ID)
  id!: string;

  @Field(() => UserRef)
  user!: UserRef;

  @Field(() => RoleType)
  role!: RoleType;

  @Field(() => String, { description: '"global", or a resource such as "workspace:<id>".' })
  scope!: string;

  @Field(() => GraphQLDateTime)
  createdAt!: Date;

  static from(grant: Grant): GrantType {
    return Object.assign(new GrantType(), {
      id: grant.id,
      user: UserRef.of(grant.userId),
      role: RoleType.from(grant.role),
      scope: grant.scope,
      createdAt: grant.createdAt,
    });
  }
}
