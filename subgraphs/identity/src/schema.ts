// The identity subgraph's schema: the explicit list of resolvers and entities.
import { buildFederatedSchema } from '@citadel/kit/federation';
import type { GraphQLSchema } from 'graphql';
import { AuthResolver } from './auth/auth.resolver';
import type { AuthService } from './auth/auth.service';
import { RefreshTokenEntity, SessionEntity } from './auth/session.entity';
import { UserEntity } from './users/user.entity';
import { UserResolver, userReferenceResolvers } from './users/user.resolver';
import type { UserService } from './users/user.service';

export const SUBGRAPH_NAME = 'identity';
export const entities = [UserEntity, SessionEntity, RefreshTokenEntity];

export interface IdentityServices {
  users: UserService;
  auth: AuthService;
}

export function buildIdentitySchema(services: IdentityServices): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [new UserResolver(services.users), new AuthResolver(services.auth)],
    referenceResolvers: userReferenceResolvers,
  });
}
