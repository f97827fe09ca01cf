// Wires the authz subgraph from its parts; main.ts and the integration tests both use it.
import type { Caller } from '@citadel/kit/auth';
import { databaseReady, type Orm } from '@citadel/kit/db';
import type { Logger } from '@citadel/kit/logger';
import type { PubSub } from '@citadel/kit/pubsub';
import { createServiceServer, type ServiceServer } from '@citadel/kit/server';
import { createSubgraphEndpoint } from '@citadel/kit/subgraph';
import type { AuditEventInput } from '@citadel/kit/audit-event';
import { sendJson } from '@citadel/kit/http';
import type { SigningKey } from '@citadel/kit/keys';
import { Outbox, OutboxRelay } from '@citadel/kit/outbox';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AccessMap } from './access/access-map';
import { extendContext } from './authz.context';
import { AUTHZ_PERMISSIONS } from './authz.permissions';
import { CatalogueService } from './catalogue/catalogue.service';
import { ChangeLog } from './changes';
import { EffectivePermissions } from './effective-permissions';
import { GrantService } from './grants/grant.service';
import { internalRoutes } from './internal/internal.routes';
import { RoleService } from './roles/role.service';
import { buildAuthzSchema, SUBGRAPH_NAME } from './schema';

export interface AuthzAppOptions {
  orm: Orm;
  logger: Logger;
  pubsub: PubSub;
  introspection: boolean;
  accessMapPath: string;
  verifyInternalToken: (authorization: string | undefined) => Promise<Caller>;
  verifyServiceToken: (authorization: string | undefined) => Promise<string>;
  /** authz's own key: its JWKS, and its service tokens to audit. */
  key: SigningKey;
  /** Hands a batch of outbox events to audit (auditDelivery); throws when not accepted. */
  deliverEvents: (events: AuditEventInput[]) => Promise<void>;
  outboxPollMs?: number;
  /** Failed deliveries before an event is parked as dead (default 10). */
  outboxMaxAttempts?: number;
}

export interface AuthzApp {
  server: ServiceServer;
  catalogue: CatalogueService;
  grants: GrantService;
  roles: RoleService;
  relay: OutboxRelay;
}

export async function createAuthzApp(options: AuthzAppOptions): Promise<AuthzApp> {
  const { orm, logger } = options;
  const changes = new ChangeLog(options.pubsub, logger);
  const effective = new EffectivePermissions();
  const outbox = new Outbox(SUBGRAPH_NAME);
  const catalogue = new CatalogueService(changes);
  const roles = new RoleService(changes, effective, outbox);
  const grants = new GrantService(changes, effective, outbox);
  // authz's own permissions need no round trip: it registers them directly.
  await catalogue.register(orm.em.fork() as EntityManager, AUTHZ_PERMISSIONS);
  await changes.prune(orm.em.fork() as EntityManager);
  const relay = new OutboxRelay({ orm, schema: SUBGRAPH_NAME, logger, deliver: options.deliverEvents, pubsub: options.pubsub, pollMs: options.outboxPollMs ?? 1_000, maxAttempts: options.outboxMaxAttempts ?? 10 });
  const schema = await buildAuthzSchema({ catalogue, roles, grants, effective, accessMap: new AccessMap(options.accessMapPath), relay: () => relay });
  const endpoint = await createSubgraphEndpoint({
    schema,
    orm,
    logger,
    introspection: options.introspection,
    verifyInternalToken: options.verifyInternalToken,
    extendContext,
  });
  const internal = internalRoutes({
    orm,
    catalogue,
    effective,
    changes,
    grants,
    verifyServiceToken: options.verifyServiceToken,
    verifyGatewayToken: options.verifyInternalToken,
  });
  const server = createServiceServer({
    service: SUBGRAPH_NAME,
    logger,
    routes: { '/graphql': endpoint.route, '/.well-known/jwks.json': (_req, res) => sendJson(res, 200, options.key.jwks), ...internal },
    quietRoutes: ['/internal/changes', '/internal/check'],
    ready: () => databaseReady(orm),
    onClose: async () => {
      await endpoint.stop();
      await relay.stop();
      await options.pubsub.close();
      await orm.close();
    },
  });
  relay.useMetrics(server.metrics.registry);
  relay.start();
  return { server, catalogue, grants, roles, relay };
}
