// Wires the identity subgraph from its parts; main.ts and the integration tests both use it.
import type { Caller } from '@citadel/kit/auth';
import { databaseReady, type Orm } from '@citadel/kit/db';
import { sendJson } from '@citadel/kit/http';
import type { SigningKey } from '@citadel/kit/keys';
import type { Logger } from '@citadel/kit/logger';
import { createServiceServer, type ServiceServer } from '@citadel/kit/server';
import { createSubgraphEndpoint } from '@citadel/kit/subgraph';
import type { AuditEventInput } from '@citadel/kit/audit-event';
import { Outbox, OutboxRelay } from '@citadel/kit/outbox';
import { AccountService, type AccountSettings } from './account/account.service';
import { AuthService } from './auth/auth.service';
import { MfaService, type MfaSettings } from './mfa/mfa.service';
import type { Mailer } from '@citadel/kit/mailer';
import { SessionEvents } from './auth/session.events';
import { revokedSessionsRoute } from './auth/revoked-sessions.route';
import { userLookupRoute } from './users/user-lookup.route';
import { SessionService } from './auth/session.service';
import type { PubSub } from '@citadel/kit/pubsub';
import type { CounterStore } from '@citadel/kit/counters';
import { LoginThrottle, type LoginThrottleSettings } from './auth/login-throttle';
import { extendContext } from './identity.context';
import { PasswordHasher } from './passwords/password-hasher';
import { buildIdentitySchema, SUBGRAPH_NAME } from './schema';
import { UserAdminService } from './users/user-admin.service';
import { UserService } from './users/user.service';

export interface IdentityAppOptions {
  orm: Orm;
  logger: Logger;
  key: SigningKey;
  verifyInternalToken: (authorization: string | undefined) => Promise<Caller>;
  /** Verifies a platform service's token (SERVICE_JWKS_URLS) and returns its name: /internal/users/lookup. */
  verifyServiceToken: (authorization: string | undefined) => Promise<string>;
  jwt: { issuer: string; audience: string; accessTokenTtlSeconds: number; refreshTokenTtlDays: number };
  /** 32-byte key deriving refresh-token successors (see AuthService). */
  refreshTokenKey: Buffer;
  refreshGraceSeconds: number;
  passwordHashConcurrency: number;
  /** Hashes allowed to wait for a slot; more get TOO_MANY_REQUESTS. */
  passwordHashQueue: number;
  introspection: boolean;
  /** Where session revocations are published for the gateways. */
  pubsub: PubSub;
  /** Login attempt counters (Redis shared by every identity node, or in-memory). */
  counters: CounterStore;
  loginThrottle: LoginThrottleSettings;
  mailer: Mailer;
  account: AccountSettings;
  mfa: MfaSettings;
  /** Whether sign-up with a taken address says EMAIL_TAKEN (see UserService). */
  revealTakenEmail: boolean;
  /** A user's global permissions (authz's effective permissions): whom an administrator may disable. */
  permissionsOf: (userId: string) => Promise<readonly string[]>;
  /** Hands a batch of outbox events to audit (auditDelivery); throws when not accepted. */
  deliverEvents: (events: AuditEventInput[]) => Promise<void>;
  /** How often the outbox relay looks for events nobody kicked it for, ms. */
  outboxPollMs?: number;
}

export async function createIdentityApp(options: IdentityAppOptions): Promise<ServiceServer> {
  const { orm, logger, key, jwt } = options;
  const hasher = new PasswordHasher(options.passwordHashConcurrency, options.passwordHashQueue);
  // Security-relevant changes stage their audit event here, in the change's own transaction.
  const outbox = new Outbox(SUBGRAPH_NAME);
  const sessions = new SessionService(new SessionEvents(options.pubsub, logger), outbox);
  const account = new AccountService(hasher, sessions, options.mailer, options.counters, logger, options.account, outbox);
  const mfa = new MfaService(options.mfa, sessions, options.counters, options.mailer, logger, outbox);
  const relay = new OutboxRelay({
    orm,
    schema: SUBGRAPH_NAME,
    logger,
    deliver: options.deliverEvents,
    pubsub: options.pubsub,
    pollMs: options.outboxPollMs ?? 1_000,
  });
  const schema = await buildIdentitySchema({
    mfa,
    users: new UserService(hasher, account, options.revealTakenEmail, outbox),
    sessions,
    account,
    auth: new AuthService(
      hasher,
      sessions,
      new LoginThrottle(options.counters, options.loginThrottle),
      mfa,
      account,
      {
        accessToken: { key, issuer: jwt.issuer, audience: jwt.audience, ttlSeconds: jwt.accessTokenTtlSeconds },
        refreshTokenTtlDays: jwt.refreshTokenTtlDays,
        refreshTokenKey: options.refreshTokenKey,
        refreshGraceSeconds: options.refreshGraceSeconds,
      },
      outbox,
    ),
    admin: new UserAdminService(sessions, outbox, options.permissionsOf),
    relay: () => relay,
  });
  const endpoint = await createSubgraphEndpoint({
    schema,
    orm,
    logger,
    introspection: options.introspection,
    verifyInternalToken: options.verifyInternalToken,
    extendContext,
  });
  const server = createServiceServer({
    service: SUBGRAPH_NAME,
    logger,
    routes: {
      '/graphql': endpoint.route,
      '/.well-known/jwks.json': (_req, res) => sendJson(res, 200, key.jwks),
      '/internal/revoked-sessions': revokedSessionsRoute(orm, sessions, options.verifyInternalToken),
      '/internal/users/lookup': userLookupRoute(orm, options.verifyServiceToken),
    },
    quietRoutes: ['/internal/revoked-sessions'],
    ready: () => databaseReady(orm),
    onClose: async () => {
      await endpoint.stop();
      await relay.stop();
      await options.pubsub.close();
      await options.counters.close();
      await orm.close();
    },
  });
  relay.useMetrics(server.metrics.registry);
  relay.start();
  return server;
}
