// Workspaces subgraph start-up, in order: telemetry (first import), env, logger, keys, database, app, catalogue, listen.
import { telemetry } from './telemetry';
import 'reflect-metadata';
import { createInternalTokenVerifier, ServiceTokenMinter } from '@citadel/kit/auth';
import { AuthzClient } from '@citadel/kit/authz-client';
import { auditDelivery } from '@citadel/kit/audit-client';
import { createOrm, databaseLimits, observeDatabasePool } from '@citadel/kit/db';
import { loadSigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { createPubSub } from '@citadel/kit/pubsub';
import { listenOrExit, onShutdownSignal } from '@citadel/kit/server';
import { createWorkspacesApp } from './app';
import { identityUserLookup } from './users/user-directory';
import { env } from './env';
import { database, SUBGRAPH_NAME } from './schema';
import { WORKSPACES_PERMISSIONS } from './workspaces.permissions';

async function main(): Promise<void> {
  const logger = createLogger(SUBGRAPH_NAME, env.LOG_LEVEL);
  const key = await loadSigningKey({ name: SUBGRAPH_NAME, pem: env.WORKSPACES_PRIVATE_KEY, dir: env.KEYS_DIR, generate: env.NODE_ENV !== 'production' });
  const orm = await createOrm({ url: env.DATABASE_URL, logger, limits: databaseLimits(env), ...database });
  const serviceTokens = new ServiceTokenMinter(SUBGRAPH_NAME, key);
  const authz = new AuthzClient({ url: env.AUTHZ_URL, minter: serviceTokens, logger });
  let registered = false;
  const { server } = await createWorkspacesApp({
    orm,
    logger,
    pubsub: createPubSub(env.REDIS_URL, logger),
    introspection: env.NODE_ENV !== 'production' || env.INTROSPECTION,
    verifyInternalToken: createInternalTokenVerifier({ audience: SUBGRAPH_NAME, jwks: env.INTERNAL_JWKS_URL }),
    key,
    grants: authz,
    deliverEvents: auditDelivery({ url: env.AUDIT_URL, minter: serviceTokens }),
    lookupUserByEmail: identityUserLookup({ url: env.IDENTITY_URL, minter: serviceTokens }),
    idempotencyKeyTtlMs: env.IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000,
    catalogueRegistered: () => registered,
  });
  // authz may start after workspaces: registration retries in the background until it is accepted.
  const registration = authz.registerCatalogue(WORKSPACES_PERMISSIONS);
  void registration.registered.then(() => (registered = true));
  observeDatabasePool(orm, server.metrics.registry);
  onShutdownSignal(logger, async () => {
    registration.stop();
    await server.close();
    await telemetry.shutdown();
  });
  await listenOrExit(server, { host: env.WORKSPACES_HOST, port: env.WORKSPACES_PORT, setting: 'WORKSPACES_PORT' }, logger, () => orm.close());
}

main().catch((error: unknown) => {
  process.stderr.write(`workspaces failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
