// The identity subgraph's per-request context.
import type { SubgraphContext } from '@citadel/kit/subgraph';
import { createUserLoaders, type UserLoaders } from './users/user.loaders';

export interface IdentityContext extends SubgraphContext {
  loaders: UserLoaders;
}

export const extendContext = (base: SubgraphContext): IdentityContext => ({
  ...base,
  loaders: createUserLoaders(base.em),
});
