// Account administration. The scopes are enforced by the gateway (and later by the subgraph too),
// so the resolvers hold none of that logic, only the directives.
import { requiresScopes } from '@citadel/kit/permissions';
import { Arg, Ctx, Directive, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { IdentityContext } from '../identity.context';
import { DEFAULT_PAGE_SIZE, mapPage } from '@citadel/kit/connection';
import type { UserAdminService } from './user-admin.service';
import { UserConnectionType } from './user-connection.type';
import { UserFilterInput } from './user.inputs';
import { USER_SCOPES } from './user.scopes';
import { UserType } from './user.type';

@Resolver()
export class UserAdminResolver {
  constructor(private readonly admin: UserAdminService) {}

  @Query(() => UserConnectionType, { description: 'Every account, oldest first.' })
  @Directive(requiresScopes(USER_SCOPES.read))
  async users(
    @Arg('filter', () => UserFilterInput, { nullable: true }) filter: UserFilterInput | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE, description: '1 to 100.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: IdentityContext,
  ): Promise<UserConnectionType> {
    const page = await this.admin.list(ctx.em, { filter: filter ?? {}, first: first ?? DEFAULT_PAGE_SIZE, after });
    return mapPage(page, UserType.from);
  }

  @Query(() => UserType, { nullable: true, description: 'Any account by id; null when there is none.' })
  @Directive(requiresScopes(USER_SCOPES.read))
  async user(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<UserType | null> {
    const user = await this.admin.find(ctx.em, id);
    return user ? UserType.from(user) : null;
  }

  @Mutation(() => UserType, { description: 'Stops the account signing in and ends all its sessions. Not your own.' })
  @Directive(requiresScopes(USER_SCOPES.manage))
  async disableUser(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<UserType> {
    return UserType.from(await this.admin.disable(ctx.em, ctx.caller, id));
  }

  @Mutation(() => UserType, { description: 'Lets a disabled account sign in again.' })
  @Directive(requiresScopes(USER_SCOPES.manage))
  async enableUser(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<UserType> {
    return UserType.from(await this.admin.enable(ctx.em, id));
  }
}
