// A role as clients see it.
import { GraphQLDateTime } from 'graphql-scalars';
import { Field, ID, ObjectType } from 'type-graphql';
import type { Role } from './role.entity';

@ObjectType('Role')
export class RoleType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  description!: string;

  @Field(() => Boolean, { description: '`admin` and `user`: cannot be deleted or renamed.' })
  builtIn!: boolean;

  @Field(() => [String], { description: 'Permission codes. `admin` holds every permission, whatever this lists.' })
  permissions!: string[];

  @Field(() => GraphQLDateTime)
  updatedAt!: Date;

  static from(role: Role): RoleType {
    return Object.assign(new RoleType(), {
      id: role.id,
      name: role.name,
      description: role.description,
      builtIn: role.builtIn,
      permissions: role.permissions,
      updatedAt: role.updatedAt,
    });
  }
}
