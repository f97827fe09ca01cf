// The workspaces subgraph's per-request context.
import { unauthenticated } from '@citadel/kit/errors';
import type { SubgraphContext } from '@citadel/kit/subgraph';
import { createLoaders, type Loaders } from './loaders';

export interface WorkspacesContext extends SubgraphContext {
  loaders: Loaders;
}

export const extendContext = (base: SubgraphContext): WorkspacesContext => ({
  ...base,
  loaders: createLoaders(base.em, base.caller.userId),
});

/** The signed-in user's id, or UNAUTHENTICATED. */
export function requireUser(ctx: WorkspacesContext): string {
  if (!ctx.caller.userId) throw unauthenticated();
  return ctx.caller.userId;
}
