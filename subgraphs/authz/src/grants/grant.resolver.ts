// Granting and revoking roles (guarded by `authz.grant.manage`), and User.roles / User.permissions.
import { policy, POLICIES, requiresScopes } from '@citadel/kit/permissions';
import { Arg, Ctx, Directive, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { forbidden } from '../authz.errors';
import { requireActor, type AuthzContext } from '../authz.context';
import type { AuthzPermission } from '../authz.permissions';
import type { EffectivePermissions } from '../effective-permissions';
import { parseScope } from '../scope';
import { RoleGrantInput } from './grant.inputs';
import type { GrantService } from './grant.service';
import { GrantType, UserRef } from './grant.type';

const MANAGE: AuthzPermission = 'authz.grant.manage';

@Resolver(() => UserRef)
export class GrantResolver {
  constructor(
    private readonly grants: GrantService,
    private readonly effective: EffectivePermissions,
  ) {}

  @Mutation(() => GrantType, { description: 'Gives a user a role. Granting a role held already returns the existing grant.' })
  @Directive(requiresScopes(MANAGE))
  @Directive(policy(POLICIES.verified))
  async grantRole(@Arg('input', () => RoleGrantInput) input: RoleGrantInput, @Ctx() ctx: AuthzContext): Promise<GrantType> {
    return GrantType.from(await this.grants.grant(ctx.em, requireActor(ctx), input));
  }

  @Mutation(() => Boolean, { description: 'Takes a role away. False when the user did not hold it there.' })
  @Directive(requiresScopes(MANAGE))
  @Directive(policy(POLICIES.verified))
  async revokeRole(@Arg('input', () => RoleGrantInput) input: RoleGrantInput, @Ctx() ctx: AuthzContext): Promise<boolean> {
    return this.grants.revoke(ctx.em, requireActor(ctx), input);
  }

  @FieldResolver(() => [GrantType], { description: "The user's roles; all scopes unless one is given. Yours, or anyone's with authz.grant.manage." })
  @Directive('@authenticated')
  async roles(
    @Root() user: UserRef,
    @Arg('scope', () => String, { nullable: true }) scope: string | null,
    @Ctx() ctx: AuthzContext,
  ): Promise<GrantType[]> {
    assertMayRead(ctx, user.id);
    return (await this.grants.forUser(ctx.em, user.id, scope)).map(GrantType.from);
  }

  @FieldResolver(() => [String], { description: 'What the user may do in a scope: the union of their roles there and globally.' })
  @Directive('@authenticated')
  async permissions(
    @Root() user: UserRef,
    @Arg('scope', () => String, { defaultValue: 'global' }) scope: string,
    @Ctx() ctx: AuthzContext,
  ): Promise<string[]> {
    assertMayRead(ctx, user.id);
    return (await this.effective.forUser(ctx.em, user.id, parseScope(scope))).permissions;
  }
}

function assertMayRead(ctx: AuthzContext, userId: string): void {
  const actor = requireActor(ctx);
  if (actor.userId !== userId && !actor.permissions.includes(MANAGE)) {
    throw forbidden("Reading another user's roles needs authz.grant.manage");
  }
}

export const userReferenceResolvers = {
  User: {
    __resolveReference: (ref: { id: string }) => UserRef.of(ref.id),
  },
};
