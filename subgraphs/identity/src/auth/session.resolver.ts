// Session management for the signed-in user.
import { unauthenticated } from '@citadel/kit/errors';
import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { IdentityContext } from '../identity.context';
import type { SessionService } from './session.service';
import { SessionType } from './session.type';

@Resolver(() => SessionType)
export class SessionResolver {
  constructor(private readonly sessions: SessionService) {}

  @Query(() => [SessionType], { description: "The signed-in user's active sessions, most recently used first." })
  async mySessions(@Ctx() ctx: IdentityContext): Promise<SessionType[]> {
    const userId = signedIn(ctx);
    const sessions = await this.sessions.list(ctx.em, userId);
    return sessions.map((s) => SessionType.from(s, ctx.caller.sessionId));
  }

  @Mutation(() => Boolean, { description: 'Ends one of your sessions; its refresh token stops working.' })
  async revokeSession(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    await this.sessions.revoke(ctx.em, signedIn(ctx), id);
    return true;
  }

  @Mutation(() => Int, { description: 'Ends all your sessions, this one included. Returns how many ended.' })
  logoutEverywhere(@Ctx() ctx: IdentityContext): Promise<number> {
    return this.sessions.revokeAll(ctx.em, signedIn(ctx));
  }
}

function signedIn(ctx: IdentityContext): string {
  if (!ctx.caller.userId) throw unauthenticated();
  return ctx.caller.userId;
}
