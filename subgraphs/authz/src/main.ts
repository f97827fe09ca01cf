// Authz subgraph start-up, in order: telemetry (first import), env, logger, database, app, listen.
import { telemetry } from './telemetry';
import 'reflect-metadata';
import { createInternalTokenVerifier, createServiceTokenVerifier, serviceKeySets, ServiceTokenMinter } from '@citadel/kit/auth';
import { auditDelivery } from '@citadel/kit/audit-client';
import { loadSigningKey } from '@citadel/kit/keys';
import { createOrm, databaseLimits, observeDatabasePool } from '@citadel/kit/db';
import { createLogger } from '@citadel/kit/logger';
import { createPubSub } from '@citadel/kit/pubsub';
import { listenOrExit, onShutdownSignal } from '@citadel/kit/server';
import { createAuthzApp } from './app';
import { env } from './env';
import { database, SUBGRAPH_NAME } from './schema';

async function main(): Promise<void> {
  const logger = createLogger(SUBGRAPH_NAME, env.LOG_LEVEL);
  const key = await loadSigningKey({ name: SUBGRAPH_NAME, pem: env.AUTHZ_PRIVATE_KEY, dir: env.KEYS_DIR, generate: env.NODE_ENV !== 'production' });
  const orm = await createOrm({ url: env.DATABASE_URL, logger, limits: databaseLimits(env), ...database });
  const { server } = await createAuthzApp({
    orm,
    logger,
    pubsub: createPubSub(env.REDIS_URL, logger),
    introspection: env.NODE_ENV !== 'production' || env.INTROSPECTION,
    accessMapPath: env.ACCESS_MAP_PATH,
    key,
    deliverEvents: auditDelivery({ url: env.AUDIT_URL, minter: new ServiceTokenMinter(SUBGRAPH_NAME, key) }),
    verifyInternalToken: createInternalTokenVerifier({ audience: SUBGRAPH_NAME, jwks: env.INTERNAL_JWKS_URL }),
    verifyServiceToken: createServiceTokenVerifier({ audience: SUBGRAPH_NAME, services: serviceKeySets(env.SERVICE_JWKS_URLS) }),
  });
  observeDatabasePool(orm, server.metrics.registry);
  onShutdownSignal(logger, async () => {
    await server.close();
    await telemetry.shutdown();
  });
  await listenOrExit(server, { host: env.AUTHZ_HOST, port: env.AUTHZ_PORT, setting: 'AUTHZ_PORT' }, logger, () => orm.close());
}


main().catch((error: unknown) => {
  process.stderr.write(`authz failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
