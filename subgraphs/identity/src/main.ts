// Identity subgraph start-up, in order: env, logger, keys, database, schema, server, listen.
import 'reflect-metadata';
import { createInternalTokenVerifier } from '@citadel/kit/auth';
import { createOrm, databaseReady } from '@citadel/kit/db';
import { sendJson } from '@citadel/kit/http';
import { loadSigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { migrationsDir } from '@citadel/kit/paths';
import { createServiceServer, explainListenError, onShutdownSignal } from '@citadel/kit/server';
import { createSubgraphEndpoint } from '@citadel/kit/subgraph';
import { AuthService } from './auth/auth.service';
import { env } from './env';
import { extendContext } from './identity.context';
import { PasswordHasher } from './passwords/password-hasher';
import { buildIdentitySchema, entities, SUBGRAPH_NAME } from './schema';
import { UserService } from './users/user.service';

async function main(): Promise<void> {
  const logger = createLogger(SUBGRAPH_NAME, env.LOG_LEVEL);
  const key = await loadSigningKey({
    name: SUBGRAPH_NAME,
    pem: env.IDENTITY_PRIVATE_KEY,
    dir: env.KEYS_DIR,
    generate: env.NODE_ENV !== 'production',
  });
  const orm = await createOrm({
    url: env.DATABASE_URL,
    schema: SUBGRAPH_NAME,
    entities,
    migrationsPath: migrationsDir(SUBGRAPH_NAME),
    logger,
  });
  const hasher = new PasswordHasher(env.PASSWORD_HASH_CONCURRENCY);
  const schema = await buildIdentitySchema({
    users: new UserService(hasher),
    auth: new AuthService(hasher, {
      accessToken: { key, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE, ttlSeconds: env.ACCESS_TOKEN_TTL_SECONDS },
      refreshTokenTtlDays: env.REFRESH_TOKEN_TTL_DAYS,
    }),
  });
  const endpoint = await createSubgraphEndpoint({
    schema,
    orm,
    logger,
    introspection: env.NODE_ENV !== 'production' || env.INTROSPECTION,
    verifyInternalToken: createInternalTokenVerifier({ audience: SUBGRAPH_NAME, jwks: env.INTERNAL_JWKS_URL }),
    extendContext,
  });
  const server = createServiceServer({
    service: SUBGRAPH_NAME,
    logger,
    routes: {
      '/graphql': endpoint.route,
      '/.well-known/jwks.json': (_req, res) => sendJson(res, 200, key.jwks),
    },
    ready: () => databaseReady(orm),
    onClose: async () => {
      await endpoint.stop();
      await orm.close();
    },
  });
  onShutdownSignal(logger, server.close);
  try {
    const port = await server.listen(env.IDENTITY_PORT, env.IDENTITY_HOST);
    logger.info({ port }, 'identity subgraph listening');
  } catch (error) {
    const message = explainListenError(error, env.IDENTITY_PORT, 'IDENTITY_PORT');
    if (!message) throw error;
    logger.fatal(message);
    await orm.close();
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`identity failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
