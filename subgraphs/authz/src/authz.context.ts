// The authz subgraph's per-request context.
import { unauthenticated } from '@citadel/kit/errors';
import type { SubgraphContext } from '@citadel/kit/subgraph';
import type { Actor } from './roles/role.service';

export type AuthzContext = SubgraphContext;

export const extendContext = (base: SubgraphContext): AuthzContext => base;

/** The signed-in caller as an actor, or UNAUTHENTICATED. */
export function requireActor(ctx: AuthzContext): Actor & { userId: string } {
  if (!ctx.caller.userId) throw unauthenticated();
  return { userId: ctx.caller.userId, permissions: ctx.caller.permissions };
}
