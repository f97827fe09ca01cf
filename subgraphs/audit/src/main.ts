// Audit subgraph start-up, in order: telemetry (first import), env, logger, key, database, app, permissions, listen.
import { telemetry } from './telemetry';
import 'reflect-metadata';
import { createInternalTokenVerifier, createServiceTokenVerifier, serviceKeySets, ServiceTokenMinter } from '@citadel/kit/auth';
import { AuthzClient } from '@citadel/kit/authz-client';
import { createOrm, databaseLimits, observeDatabasePool } from '@citadel/kit/db';
import { loadSigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { createPubSub } from '@citadel/kit/pubsub';
import { listenOrExit, onShutdownSignal } from '@citadel/kit/server';
import type { JWK } from 'jose';
import { createAuditApp } from './app';
import { AUDIT_PERMISSIONS } from './audit.permissions';
import { CheckpointSigner } from './chain/checkpoint';
import { env } from './env';
import { database, SUBGRAPH_NAME } from './schema';

async function main(): Promise<void> {
  const logger = createLogger(SUBGRAPH_NAME, env.LOG_LEVEL);
  const key = await loadSigningKey({
    name: SUBGRAPH_NAME,
    pem: env.AUDIT_PRIVATE_KEY,
    dir: env.KEYS_DIR,
    generate: env.NODE_ENV !== 'production',
  });
  const orm = await createOrm({ url: env.DATABASE_URL, logger, limits: databaseLimits(env), ...database });
  const { server } = await createAuditApp({
    orm,
    logger,
    // Created in this call, so the live feed subscribes before Redis connects (see createAuditApp).
    pubsub: createPubSub(env.REDIS_URL, logger),
    introspection: env.NODE_ENV !== 'production' || env.INTROSPECTION,
    signer: new CheckpointSigner(key, previousKeys(env.AUDIT_PREVIOUS_JWKS)),
    checkpointEvery: env.CHECKPOINT_EVERY,
    checkpointSeconds: env.CHECKPOINT_SECONDS,
    retention: { days: env.AUDIT_RETENTION_DAYS, exportDir: env.AUDIT_EXPORT_DIR },
    verifyInternalToken: createInternalTokenVerifier({ audience: SUBGRAPH_NAME, jwks: env.INTERNAL_JWKS_URL }),
    verifyServiceToken: createServiceTokenVerifier({ audience: SUBGRAPH_NAME, services: serviceKeySets(env.SERVICE_JWKS_URLS) }),
  });
  // authz may start after audit: registration retries in the background until it is accepted.
  const registration = new AuthzClient({ url: env.AUTHZ_URL, minter: new ServiceTokenMinter(SUBGRAPH_NAME, key), logger }).registerCatalogue(
    AUDIT_PERMISSIONS,
  );
  observeDatabasePool(orm, server.metrics.registry);
  onShutdownSignal(logger, async () => {
    registration.stop();
    await server.close();
    await telemetry.shutdown();
  });
  await listenOrExit(server, { host: env.AUDIT_HOST, port: env.AUDIT_PORT, setting: 'AUDIT_PORT' }, logger, () => orm.close());
}


/** AUDIT_PREVIOUS_JWKS: `{"keys":[…]}` of retired audit keys; a malformed value is a start-up error. */
function previousKeys(json: string | undefined): JWK[] {
  if (!json) return [];
  const parsed = JSON.parse(json) as { keys?: unknown };
  if (!Array.isArray(parsed.keys)) throw new Error('AUDIT_PREVIOUS_JWKS must be a JWKS: {"keys":[…]}');
  return parsed.keys as JWK[];
}

main().catch((error: unknown) => {
  process.stderr.write(`audit failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
