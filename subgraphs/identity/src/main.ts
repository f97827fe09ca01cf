// Identity subgraph start-up, in order: telemetry (first import), env, logger, keys, database, app, listen.
import { telemetry } from './telemetry';
import 'reflect-metadata';
import { createInternalTokenVerifier, createServiceTokenVerifier, serviceKeySets, ServiceTokenMinter } from '@citadel/kit/auth';
import { AuthzClient } from '@citadel/kit/authz-client';
import { auditDelivery } from '@citadel/kit/audit-client';
import { createOrm, databaseLimits, observeDatabasePool } from '@citadel/kit/db';
import { loadSecret, loadSigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { createPubSub } from '@citadel/kit/pubsub';
import { createCounterStore } from '@citadel/kit/counters';
import { createMailer } from '@citadel/kit/mailer';
import { listenOrExit, onShutdownSignal } from '@citadel/kit/server';
import { createIdentityApp } from './app';
import { env } from './env';
import { IDENTITY_PERMISSIONS } from './identity.permissions';
import { database, SUBGRAPH_NAME } from './schema';

async function main(): Promise<void> {
  const logger = createLogger(SUBGRAPH_NAME, env.LOG_LEVEL);
  if (env.NODE_ENV === 'production' && !env.SMTP_URL) {
    // The development mailbox would write live reset links to disk.
    logger.fatal('SMTP_URL is required in production (the development mailbox is for development only)');
    process.exit(1);
  }
  const key = await loadSigningKey({
    name: SUBGRAPH_NAME,
    pem: env.IDENTITY_PRIVATE_KEY,
    dir: env.KEYS_DIR,
    generate: env.NODE_ENV !== 'production',
  });
  const orm = await createOrm({ url: env.DATABASE_URL, logger, limits: databaseLimits(env), ...database });
  const serviceTokens = new ServiceTokenMinter(SUBGRAPH_NAME, key);
  const authz = new AuthzClient({ url: env.AUTHZ_URL, minter: serviceTokens, logger });
  const server = await createIdentityApp({
    orm,
    logger,
    key,
    verifyInternalToken: createInternalTokenVerifier({ audience: SUBGRAPH_NAME, jwks: env.INTERNAL_JWKS_URL }),
    permissionsOf: (userId) => authz.effectivePermissions(userId),
    verifyServiceToken: createServiceTokenVerifier({ audience: SUBGRAPH_NAME, services: serviceKeySets(env.SERVICE_JWKS_URLS) }),
    jwt: {
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlDays: env.REFRESH_TOKEN_TTL_DAYS,
    },
    refreshTokenKey: loadSecret({
      name: 'refresh-token',
      value: env.REFRESH_TOKEN_KEY,
      dir: env.KEYS_DIR,
      generate: env.NODE_ENV !== 'production',
    }),
    refreshGraceSeconds: env.REFRESH_REUSE_GRACE_SECONDS,
    passwordHashConcurrency: env.PASSWORD_HASH_CONCURRENCY,
    passwordHashQueue: env.PASSWORD_HASH_QUEUE,
    introspection: env.NODE_ENV !== 'production' || env.INTROSPECTION,
    pubsub: createPubSub(env.REDIS_URL, logger),
    counters: createCounterStore(env.REDIS_URL, env.COUNTER_KEY_PREFIX, logger),
    loginThrottle: {
      maxAttemptsPerAccount: env.LOGIN_MAX_ATTEMPTS,
      maxAttemptsPerIp: env.LOGIN_MAX_ATTEMPTS_PER_IP,
      windowSeconds: env.LOGIN_LOCK_SECONDS,
      baseDelayMs: env.LOGIN_FAILURE_DELAY_MS,
      maxDelayMs: 4_000,
    },
    mailer: createMailer({ smtpUrl: env.SMTP_URL, from: env.MAIL_FROM, mailboxDir: env.MAILBOX_DIR, logger }),
    account: { appUrl: env.APP_URL, mailsPerHour: env.MAILS_PER_HOUR, maxAttempts: env.LOGIN_MAX_ATTEMPTS },
    revealTakenEmail: env.REGISTRATION_REVEALS_TAKEN_EMAIL,
    deliverEvents: auditDelivery({ url: env.AUDIT_URL, minter: serviceTokens }),
    mfa: {
      encryptionKey: loadSecret({ name: 'mfa', value: env.MFA_ENCRYPTION_KEY, dir: env.KEYS_DIR, generate: env.NODE_ENV !== 'production' }),
      issuer: env.MFA_ISSUER,
      challengeTtlSeconds: 300,
      maxAttempts: env.MFA_MAX_ATTEMPTS,
      maxAttemptsPerUser: env.MFA_MAX_ATTEMPTS_PER_USER,
      windowSeconds: env.LOGIN_LOCK_SECONDS,
      reauthSeconds: env.MFA_REAUTH_SECONDS,
    },
  });
  // authz may start after identity: registration retries in the background until it is accepted.
  const registration = authz.registerCatalogue(
    IDENTITY_PERMISSIONS,
  );
  observeDatabasePool(orm, server.metrics.registry);
  onShutdownSignal(logger, async () => {
    registration.stop();
    await server.close();
    await telemetry.shutdown();
  });
  await listenOrExit(server, { host: env.IDENTITY_HOST, port: env.IDENTITY_PORT, setting: 'IDENTITY_PORT' }, logger, () =>
    orm.close(),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`identity failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
