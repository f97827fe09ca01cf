// `accessMap`: each protected coordinate, what it requires, and whether the caller has it.
import { Ctx, Directive, Field, ObjectType, Query, Resolver } from 'type-graphql';
import type { AuthzContext } from '../authz.context';
import type { AccessMap } from './access-map';

@ObjectType('AccessRule', { description: 'A protected schema coordinate and whether you may use it.' })
export class AccessRuleType {
  @Field(() => String, { description: '`Type.field` or `Type`.' })
  coordinate!: string;

  @Field(() => String, { description: '"field" or "type".' })
  kind!: string;

  @Field(() => Boolean, { description: 'Requires a signed-in caller.' })
  authenticated!: boolean;

  @Field(() => [[String]], { nullable: true, description: 'Permission alternatives: all of one inner list is needed.' })
  scopes!: string[][] | null;

  @Field(() => [[String]], { nullable: true, description: 'Policy alternatives (`mfa`, `verified`).' })
  policies!: string[][] | null;

  @Field(() => Boolean)
  allowed!: boolean;

  @Field(() => [String], { description: 'What is missing: "authenticated", permission codes, or "policy:<name>".' })
  missing!: string[];
}

@Resolver()
export class AccessMapResolver {
  constructor(private readonly map: AccessMap) {}

  // Signed-in only: the map names every protected coordinate, which anonymous callers need not learn.
  @Query(() => [AccessRuleType], { description: 'What you may and may not use in the graph, and why.' })
  @Directive('@authenticated')
  async accessMap(@Ctx() ctx: AuthzContext): Promise<AccessRuleType[]> {
    return (await this.map.decide(ctx.caller)).map((d) => Object.assign(new AccessRuleType(), d));
  }
}
