// Session management for the signed-in user.
import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { requireUser, type IdentityContext } from '../identity.context';
import type { SessionService } from './session.service';
import { SessionType } from './session.type';

@Resolver(() => SessionType)
export class SessionResolver {
  constructor(private readonly sessions: SessionService) {}

  @Query(() => [SessionType], { description: "The signed-in user's active sessions, most recently used first." })
  async mySessions(@Ctx() ctx: IdentityContext): Promise<SessionType[]> {
    const userId = requireUser(ctx);
    const sessions = await this.sessions.list(ctx.em, userId);
    return sessions.map((s) => SessionType.from(s, ctx.caller.sessionId));
  }

  @Mutation(() => Boolean, { description: 'Ends one of your sessions; its refresh token stops working.' })
  async revokeSession(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    await this.sessions.revoke(ctx.em, requireUser(ctx), id);
    return true;
  }

  @Mutation(() => Int, { description: 'Ends all your sessions, this one included. Returns how many ended.' })
  logoutEverywhere(@Ctx() ctx: IdentityContext): Promise<number> {
    return this.sessions.revokeAll(ctx.em, requireUser(ctx));
  }
}
