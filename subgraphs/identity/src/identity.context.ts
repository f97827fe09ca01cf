// The identity subgraph's per-request context.
import { unauthenticated } from '@citadel/kit/errors';
import type { SubgraphContext } from '@citadel/kit/subgraph';
import { createUserLoaders, type UserLoaders } from './users/user.loaders';

export interface IdentityContext extends SubgraphContext {
  loaders: UserLoaders;
}

export const extendContext = (base: SubgraphContext): IdentityContext => ({
  ...base,
  loaders: createUserLoaders(base.em),
});

/** The signed-in user's id, or UNAUTHENTICATED. */
export function requireUser(ctx: IdentityContext): string {
  if (!ctx.caller.userId) throw unauthenticated();
  return ctx.caller.userId;
}
