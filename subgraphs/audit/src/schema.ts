// The audit subgraph's schema: the explicit list of resolvers, and its database. No entities: every
// read and write is SQL in the services, because the hash covers the exact stored values.
import { migrationsDir } from '@citadel/kit/paths';
import type { GraphQLSchema } from 'graphql';
import { auditMigrations } from '../../../migrations/audit';
import { ChainResolver } from './chain/chain.resolver';
import type { ChainVerifier } from './chain/chain-verifier';
import { buildFederatedSchema } from '@citadel/kit/federation';
import { AuditEventFeedResolver } from './events/audit-event-feed.resolver';
import { AuditEventResolver } from './events/audit-event.resolver';
import type { EventQueryService } from './events/event-query.service';
import { userReferenceResolvers, UserTrailResolver } from './events/user-trail.resolver';

export const SUBGRAPH_NAME = 'audit';

export const database = {
  schema: SUBGRAPH_NAME,
  entities: [],
  migrations: auditMigrations,
  migrationsPath: migrationsDir(SUBGRAPH_NAME),
};

export interface AuditServices {
  events: EventQueryService;
  verifier: ChainVerifier;
}

export function buildAuditSchema(services: AuditServices): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [
      new AuditEventResolver(services.events),
      new AuditEventFeedResolver(),
      new UserTrailResolver(services.events),
      new ChainResolver(services.verifier),
    ],
    referenceResolvers: userReferenceResolvers,
  });
}
