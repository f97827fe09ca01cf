// Account queries and registration.
import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { requireUser, type IdentityContext } from '../identity.context';
import { RegisterInput } from './user.inputs';
import type { UserService } from './user.service';
import { UserType } from './user.type';

@Resolver(() => UserType)
export class UserResolver {
  constructor(private readonly users: UserService) {}

  @Query(() => UserType, { nullable: true, description: 'The signed-in account.' })
  async me(@Ctx() ctx: IdentityContext): Promise<UserType | null> {
    const user = await ctx.loaders.userById.load(requireUser(ctx));
    return user ? UserType.from(user) : null;
  }

  @Mutation(() => UserType, { description: 'Creates an account. Sign in with `login` afterwards.' })
  async register(
    @Arg('input', () => RegisterInput) input: RegisterInput,
    @Ctx() ctx: IdentityContext,
  ): Promise<UserType> {
    return UserType.from(await this.users.register(ctx.em, input));
  }
}

/** `__resolveReference` for `User @key(fields: "id")`: batched, one query per request. */
export const userReferenceResolvers = {
  User: {
    async __resolveReference(ref: { id: string }, ctx: IdentityContext) {
      const user = await ctx.loaders.userById.load(ref.id);
      return user ? UserType.from(user) : null;
    },
  },
};
