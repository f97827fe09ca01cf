// Gateway start-up, in order: telemetry (first import), env, logger, keys, supergraph, Apollo, server, listen.
import { telemetry } from './telemetry';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { apolloHandler } from '@citadel/kit/apollo-http';
import { InternalTokenMinter, type Caller } from '@citadel/kit/auth';
import { errorLoggingPlugin, formatError } from '@citadel/kit/errors';
import { sendJson, sendJsonError } from '@citadel/kit/http';
import { loadSigningKey } from '@citadel/kit/keys';
import { REPO_ROOT } from '@citadel/kit/paths';
import { createLogger, type Logger } from '@citadel/kit/logger';
import { createPubSub } from '@citadel/kit/pubsub';
import { createServiceServer, listenOrExit, onShutdownSignal } from '@citadel/kit/server';
import type { IncomingMessage } from 'node:http';
import { createAccessTokenVerifier } from './access-token';
import { clientInfo, type GatewayContext } from './context';
import { env } from './env';
import { serveExplorer, wantsHtml } from './explorer';
import { nestingLimitPlugin, operationLimitsRule, variableCoercionPlugin } from './limits';
import { RevokedSessions } from './revoked-sessions';
import { SubgraphFetchMetrics, SubgraphSource } from './subgraph-source';
import { createSubgraphFetcher } from './subgraph-fetcher';
import { OperationMetrics } from './operation-metrics';
import { RateLimiter } from './rate-limit';
import { UserPermissions } from './user-permissions';
import { DenialAudit } from './denial-audit';
import { AuthorizingGateway } from './authorizing-gateway';
import { supergraphFromFile } from './supergraph';
import { SubscriptionRelay } from './subscriptions/relay';
import { SharedFetches } from './subscriptions/shared-fetches';
import { UpstreamConnections } from './subscriptions/upstream';
import { attachGraphqlWs, endedReason } from './websocket';
import { WsLimits } from './ws-limits';
import { defaultManifestPaths, PersistedDocumentManifest, persistedDocuments, watchManifests, type PersistedDocuments } from './persisted-documents';

async function main(): Promise<void> {
  const logger = createLogger('gateway', env.LOG_LEVEL);
  if (env.AUTHORIZATION_MODE === 'off' && env.NODE_ENV === 'production') {
    logger.fatal('AUTHORIZATION_MODE=off is for measuring and debugging only; it is refused in production');
    process.exit(1);
  }
  const key = await loadSigningKey({
    name: 'gateway',
    pem: env.GATEWAY_PRIVATE_KEY,
    dir: env.KEYS_DIR,
    generate: env.NODE_ENV !== 'production',
  });
  const minter = new InternalTokenMinter(key);
  const { persisted, stopWatching: stopWatchingManifests } = loadPersistedDocuments(logger);
  const pubsub = createPubSub(env.REDIS_URL, logger);
  const revoked = new RevokedSessions({
    identityUrl: env.IDENTITY_URL,
    minter,
    pubsub,
    logger,
    pollMs: env.REVOCATION_POLL_MS,
    retainMs: env.ACCESS_TOKEN_MAX_AGE_SECONDS * 1000,
  });
  await revoked.start();
  const userPermissions = new UserPermissions({
    authzUrl: env.AUTHZ_URL,
    minter,
    pubsub,
    logger,
    pollMs: env.PERMISSIONS_POLL_MS,
  });
  await userPermissions.start();
  const denialAudit = new DenialAudit({ auditUrl: env.AUDIT_URL, minter, logger });
  denialAudit.start();
  const verifyAccessToken = createAccessTokenVerifier({
    jwks: env.IDENTITY_JWKS_URL,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    maxAgeSeconds: env.ACCESS_TOKEN_MAX_AGE_SECONDS,
    isRevoked: (sid) => revoked.isRevoked(sid),
  });

  const subgraphFetches = new SubgraphFetchMetrics();
  const fetcher = createSubgraphFetcher();
  const operationMetrics = new OperationMetrics();
  const planner = new ApolloGateway({
    supergraphSdl: supergraphFromFile(env.SUPERGRAPH_PATH, logger),
    buildService: ({ name, url }) =>
      new SubgraphSource(name, env.subgraphUrls[name] ?? url ?? '', minter, {
        metrics: subgraphFetches,
        fetcher: fetcher.fetch,
        deduplicate: env.SUBGRAPH_DEDUPLICATION,
        timeoutMs: env.subgraphTimeoutMs(name),
      }),
    logger,
  });
  // `off` leaves enforcement to the subgraphs alone (they refuse rather than filter): for measuring.
  const authorizing =
    env.AUTHORIZATION_MODE === 'off'
      ? undefined
      : new AuthorizingGateway(planner, { mode: env.AUTHORIZATION_MODE, onDenied: (denial) => denialAudit.record(denial) });
  const gateway = authorizing ?? planner;
  const rateLimiter = env.RATE_LIMIT
    ? new RateLimiter({ perMinute: env.RATE_LIMIT_PER_MINUTE, operations: env.RATE_LIMIT_OPERATIONS, redisUrl: env.REDIS_URL, keyPrefix: env.COUNTER_KEY_PREFIX, logger })
    : undefined;
  const validationRules = [operationLimitsRule({ maxDepth: env.MAX_DEPTH, maxAliases: env.MAX_ALIASES, maxRootFields: env.MAX_ROOT_FIELDS })];
  const upstream = new UpstreamConnections(minter, logger);
  const relay = new SubscriptionRelay({
    gateway: planner,
    authorizing,
    upstream,
    withPermissions: (caller) => withPermissions(caller),
    endedReason: (caller) => endedReason(caller, (sid) => revoked.isRevoked(sid)),
    validationRules,
    logger,
    queueLimit: env.SUBSCRIPTION_QUEUE_LIMIT,
    sharedFetches: new SharedFetches(new Set(env.SUBSCRIPTION_SHARED_FETCHES)),
  });
  revoked.onRevoked((sessionIds) => relay.sessionsRevoked(sessionIds));
  userPermissions.onChange((userIds) => relay.permissionsChanged(userIds));
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: env.introspection,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    formatError,
    validationRules,
    plugins: [operationMetrics.plugin(), persisted.plugin(), nestingLimitPlugin(), variableCoercionPlugin(), ...(rateLimiter ? [rateLimiter.plugin()] : []), ApolloServerPluginLandingPageDisabled(), errorLoggingPlugin()],
    logger,
  });
  await apollo.start();

  const callers = new WeakMap<IncomingMessage, Caller>();
  const handle = apolloHandler<GatewayContext>(apollo, async (req, scope) => {
    const caller = callers.get(req)!;
    const requestLogger = caller.userId ? scope.logger.child({ userId: caller.userId }) : scope.logger;
    return { caller, client: clientInfo(req, env.TRUSTED_PROXY_HOPS), requestId: scope.requestId, logger: requestLogger };
  });

  /** The caller's global permissions from authz (cached on this node), the scopes of @requiresScopes. */
  const withPermissions = async <C extends Caller>(caller: C): Promise<C> =>
    caller.userId ? { ...caller, permissions: await userPermissions.get(caller.userId) } : caller;

  const server = createServiceServer({
    service: 'gateway',
    logger,
    maxBodyBytes: env.MAX_BODY_BYTES,
    corsOrigins: env.CORS_ORIGINS,
    shutdownDelayMs: env.SHUTDOWN_DELAY_MS,
    drainTimeoutMs: env.SHUTDOWN_DRAIN_TIMEOUT_MS,
    routes: {
      '/': (req, res) => {
        if (!env.EXPLORER || req.method !== 'GET') return sendJsonError(res, 404, 'NOT_FOUND', 'No route for /');
        serveExplorer(req, res);
      },
      '/graphql': async (req, res, scope) => {
        if (env.EXPLORER && wantsHtml(req)) return serveExplorer(req, res);
        callers.set(req, await withPermissions(await verifyAccessToken(req.headers.authorization)));
        await handle(req, res, scope);
      },
      '/.well-known/jwks.json': (_req, res) => sendJson(res, 200, key.jwks),
    },
    // apollo.start() above resolved only once the supergraph loaded; revocations and permission changes must be read too.
    ready: async () => revoked.ready && userPermissions.ready,
    beforeDrain: () => websocket.close(),
    onClose: async () => {
      stopWatchingManifests();
      await apollo.stop();
      fetcher.close();
      await upstream.close();
      await revoked.stop();
      await userPermissions.stop();
      await denialAudit.stop();
      await pubsub.close();
      await rateLimiter?.close();
    },
  });
  authorizing?.useMetrics(server.metrics.registry);
  denialAudit.useMetrics(server.metrics.registry);
  relay.useMetrics(server.metrics.registry);
  upstream.useMetrics(server.metrics.registry);
  operationMetrics.useMetrics(server.metrics.registry);
  subgraphFetches.useMetrics(server.metrics.registry);
  rateLimiter?.useMetrics(server.metrics.registry);
  const wsLimits = new WsLimits({ maxConnectionsPerClient: env.WS_MAX_CONNECTIONS_PER_CLIENT, maxSubscriptionsPerClient: env.WS_MAX_SUBSCRIPTIONS_PER_CLIENT });
  wsLimits.useMetrics(server.metrics.registry);
  const websocket = attachGraphqlWs({
    http: server.http,
    path: '/graphql',
    apollo,
    verifyAccessToken,
    withPermissions,
    trustedProxyHops: env.TRUSTED_PROXY_HOPS,
    isRevoked: (sid) => revoked.isRevoked(sid),
    logger,
    maxPayloadBytes: env.MAX_BODY_BYTES,
    relay,
    persisted,
    rateLimit: rateLimiter ? (context, operationName) => rateLimiter.forSubscription(context, operationName) : undefined,
    limits: wsLimits,
  });
  onShutdownSignal(logger, async () => {
    await server.close();
    await telemetry.shutdown();
  });
  await listenOrExit(server, { host: env.GATEWAY_HOST, port: env.GATEWAY_PORT, setting: 'GATEWAY_PORT' }, logger, () =>
    apollo.stop(),
  );
}

/**
 * The PERSISTED_DOCUMENTS mode with its manifests, re-read when one changes on disk. A manifest
 * that cannot be read stops the start; a later bad one is logged and the previous documents serve.
 */
function loadPersistedDocuments(logger: Logger): { persisted: PersistedDocuments; stopWatching: () => void } {
  const paths = env.PERSISTED_DOCUMENTS_PATH.length > 0 ? env.PERSISTED_DOCUMENTS_PATH : defaultManifestPaths(REPO_ROOT);
  try {
    if (env.PERSISTED_DOCUMENTS === 'off') return { persisted: persistedDocuments({ mode: 'off', manifest: new PersistedDocumentManifest({}) }), stopWatching: () => {} };
    const manifest = PersistedDocumentManifest.fromFiles(paths);
    logger.info({ mode: env.PERSISTED_DOCUMENTS, documents: manifest.size, paths }, 'persisted documents loaded');
    const persisted = persistedDocuments({ mode: env.PERSISTED_DOCUMENTS, manifest });
    const stopWatching = watchManifests({
      paths,
      persisted,
      onReload: (documents) => logger.info({ documents, paths }, 'persisted documents reloaded'),
      onError: (error) => logger.error({ err: error, paths }, 'persisted documents reload failed; still serving the previous ones'),
    });
    return { persisted, stopWatching };
  } catch (error) {
    logger.fatal({ err: error }, 'could not load persisted documents: run npm run codegen, or fix PERSISTED_DOCUMENTS_PATH');
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`gateway failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
