// Role management; every change is guarded by `authz.role.manage`.
import { policy, POLICIES, requiresScopes } from '@citadel/kit/permissions';
import { Arg, Ctx, Directive, ID, Mutation, Query, Resolver } from 'type-graphql';
import { requireActor, type AuthzContext } from '../authz.context';
import type { AuthzPermission } from '../authz.permissions';
import { CreateRoleInput, SetRolePermissionsInput, UpdateRoleInput } from './role.inputs';
import type { RoleService } from './role.service';
import { RoleType } from './role.type';

const MANAGE = requiresScopes<AuthzPermission>('authz.role.manage');
/** Changing who may do what is for accounts whose address is proven. */
const VERIFIED = policy(POLICIES.verified);

@Resolver(() => RoleType)
export class RoleResolver {
  constructor(private readonly service: RoleService) {}

  @Query(() => [RoleType], { description: 'Every role, built-in first.' })
  @Directive('@authenticated')
  async roles(@Ctx() ctx: AuthzContext): Promise<RoleType[]> {
    return (await this.service.list(ctx.em)).map(RoleType.from);
  }

  @Mutation(() => RoleType)
  @Directive(MANAGE)
  @Directive(VERIFIED)
  async createRole(@Arg('input', () => CreateRoleInput) input: CreateRoleInput, @Ctx() ctx: AuthzContext): Promise<RoleType> {
    return RoleType.from(await this.service.create(ctx.em, requireActor(ctx), input));
  }

  @Mutation(() => RoleType)
  @Directive(MANAGE)
  @Directive(VERIFIED)
  async updateRole(@Arg('input', () => UpdateRoleInput) input: UpdateRoleInput, @Ctx() ctx: AuthzContext): Promise<RoleType> {
    return RoleType.from(await this.service.update(ctx.em, input.id, input));
  }

  @Mutation(() => Boolean, { description: 'Deletes a custom role and every grant of it.' })
  @Directive(MANAGE)
  @Directive(VERIFIED)
  async deleteRole(@Arg('id', () => ID) id: string, @Ctx() ctx: AuthzContext): Promise<boolean> {
    return this.service.delete(ctx.em, id);
  }

  @Mutation(() => RoleType, { description: 'Replaces the permissions of a role; you can only add permissions you hold.' })
  @Directive(MANAGE)
  @Directive(VERIFIED)
  async setRolePermissions(
    @Arg('input', () => SetRolePermissionsInput) input: SetRolePermissionsInput,
    @Ctx() ctx: AuthzContext,
  ): Promise<RoleType> {
    return RoleType.from(await this.service.setPermissions(ctx.em, requireActor(ctx), input.roleId, input.permissions));
  }
}
