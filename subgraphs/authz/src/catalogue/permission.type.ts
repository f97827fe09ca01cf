// A permission as clients see it.
import { Field, ObjectType } from 'type-graphql';
import type { Permission } from './permission.entity';

@ObjectType('Permission', { description: 'A permission code (`module.resource.action`) a subgraph declared.' })
export class PermissionType {
  @Field(() => String)
  code!: string;

  @Field(() => String, { description: 'The subgraph that declared it.' })
  module!: string;

  @Field(() => String)
  description!: string;

  static from(p: Permission): PermissionType {
    return Object.assign(new PermissionType(), { code: p.code, module: p.module, description: p.description });
  }
}
