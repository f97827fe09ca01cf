// The identity subgraph's schema: the explicit list of resolvers and entities.
import { buildFederatedSchema } from '@citadel/kit/federation';
import { OutboxEntrySchema, type OutboxRelay } from '@citadel/kit/outbox';
import { outboxAdminResolver } from '@citadel/kit/outbox-admin';
import { migrationsDir } from '@citadel/kit/paths';
import { identityMigrations } from '../../../migrations/identity';
import type { GraphQLSchema } from 'graphql';
import { AccountResolver } from './account/account.resolver';
import type { AccountService } from './account/account.service';
import { EmailTokenEntity } from './account/email-token.entity';
import { AuthResolver } from './auth/auth.resolver';
import { MfaChallengeEntity, RecoveryCodeEntity, TotpFactorEntity } from './mfa/mfa.entity';
import { MfaResolver } from './mfa/mfa.resolver';
import type { MfaService } from './mfa/mfa.service';
import type { AuthService } from './auth/auth.service';
import { SessionResolver } from './auth/session.resolver';
import type { SessionService } from './auth/session.service';
import { RefreshTokenEntity, SessionEntity } from './auth/session.entity';
import { UserAdminResolver } from './users/user-admin.resolver';
import type { UserAdminService } from './users/user-admin.service';
import { UserEntity } from './users/user.entity';
import { UserResolver, userReferenceResolvers } from './users/user.resolver';
import type { UserService } from './users/user.service';

export const SUBGRAPH_NAME = 'identity';

/** The subgraph's own Postgres schema, entities and migrations: what createOrm and migrate need. */
export const database = {
  schema: SUBGRAPH_NAME,
  entities: [
    UserEntity,
    SessionEntity,
    RefreshTokenEntity,
    EmailTokenEntity,
    TotpFactorEntity,
    RecoveryCodeEntity,
    MfaChallengeEntity,
    OutboxEntrySchema,
  ],
  migrations: identityMigrations,
  migrationsPath: migrationsDir(SUBGRAPH_NAME),
};

export interface IdentityServices {
  users: UserService;
  auth: AuthService;
  sessions: SessionService;
  account: AccountService;
  mfa: MfaService;
  admin: UserAdminService;
  /** identity's outbox relay, for the dead-event admin fields (read when one is used). */
  relay: () => OutboxRelay;
}

export function buildIdentitySchema(services: IdentityServices): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [
      new UserResolver(services.users),
      new UserAdminResolver(services.admin),
      new AuthResolver(services.auth),
      new SessionResolver(services.sessions),
      new AccountResolver(services.account),
      new MfaResolver(services.mfa),
      outboxAdminResolver(SUBGRAPH_NAME, services.relay),
    ],
    referenceResolvers: userReferenceResolvers,
  });
}
