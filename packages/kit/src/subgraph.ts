// A subgraph's GraphQL endpoint: refuses callers without the gateway's internal token, forks the ORM.
import type { IncomingMessage } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import { apolloHandler } from './apollo-http';
import { CLIENT_IP_HEADER, CLIENT_UA_HEADER, InternalTokenError, OPERATION_NAME_HEADER, type Caller, type ClientInfo } from './auth';
import type { Orm } from './db';
import { errorLoggingPlugin, formatError } from './errors';
import { subgraphAuthorizationPlugin } from './subgraph-authorization';
import { runInRequest } from './request-context';
import { sendJsonError } from './http';
import type { RequestScope, RouteHandler, ServiceServer } from './server';
import { serveSubgraphSubscriptions, type SubgraphSubscriptions } from './subgraph-subscriptions';

/** What every subgraph resolver gets; subgraphs extend it with their own loaders. */
export interface SubgraphContext {
  em: EntityManager;
  caller: Caller;
  /** The end user's IP and user agent, forwarded by the gateway. */
  client: ClientInfo;
  requestId: string;
  logger: Logger;
}

export interface SubgraphEndpointOptions<TContext extends SubgraphContext> {
  schema: GraphQLSchema;
  orm: Orm;
  logger: Logger;
  introspection: boolean;
  verifyInternalToken: (authorization: string | undefined) => Promise<Caller>;
  /** Adds per-request parts (DataLoaders) to the base context. */
  extendContext: (base: SubgraphContext) => TContext;
}

export interface SubgraphEndpoint {
  /** The `/graphql` route (HTTP). */
  route: RouteHandler;
  /**
   * Serves this schema's subscriptions over graphql-ws on the service's `/graphql` as well, with
   * the same caller checks and context (close it in the server's `beforeDrain`).
   */
  serveSubscriptions: (server: Pick<ServiceServer, 'http' | 'metrics'>) => SubgraphSubscriptions;
  stop: () => Promise<void>;
}

export async function createSubgraphEndpoint<TContext extends SubgraphContext>(
  options: SubgraphEndpointOptions<TContext>,
): Promise<SubgraphEndpoint> {
  const apollo = new ApolloServer<TContext>({
    schema: options.schema,
    introspection: options.introspection,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    formatError,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      // No schema sets cache hints, so the default cache-control plugin only ever answered
      // `no-store`, at the price of a hook around every field resolved: say it without the hook.
      ApolloServerPluginCacheControlDisabled(),
      uncacheablePlugin(),
      errorLoggingPlugin(),
      subgraphAuthorizationPlugin(options.schema),
    ],
  });
  await apollo.start();
  const callers = new WeakMap<IncomingMessage, Caller>();
  const handle = apolloHandler(apollo, async (req, scope: RequestScope) => {
    const caller = callers.get(req)!;
    const logger = caller.userId ? scope.logger.child({ userId: caller.userId }) : scope.logger;
    const em = options.orm.em.fork() as EntityManager;
    const client = { ip: header(req, CLIENT_IP_HEADER), userAgent: header(req, CLIENT_UA_HEADER) };
    return options.extendContext({ em, caller, client, requestId: scope.requestId, logger });
  });
  const route: RouteHandler = async (req, res, scope) => {
    try {
      callers.set(req, await options.verifyInternalToken(req.headers.authorization));
    } catch (error) {
      if (!(error instanceof InternalTokenError)) throw error;
      scope.logger.warn({ reason: error.message }, 'refused a request without a valid internal token');
      return sendJsonError(res, 401, 'UNAUTHENTICATED', error.message);
    }
    const caller = callers.get(req)!;
    const client = { ip: header(req, CLIENT_IP_HEADER), userAgent: header(req, CLIENT_UA_HEADER) };
    const operationName = header(req, OPERATION_NAME_HEADER)?.slice(0, 200) ?? null;
    await runInRequest({ caller, client, requestId: scope.requestId, operationName }, () => handle(req, res, scope));
  };
  const serveSubscriptions = (server: Pick<ServiceServer, 'http' | 'metrics'>) => {
    const subscriptions = serveSubgraphSubscriptions({
      http: server.http,
      path: '/graphql',
      schema: options.schema,
      orm: options.orm,
      logger: options.logger,
      verifyInternalToken: options.verifyInternalToken,
      extendContext: options.extendContext,
    });
    subscriptions.useMetrics(server.metrics.registry);
    return subscriptions;
  };
  return { route, serveSubscriptions, stop: () => apollo.stop() };
}

/** `cache-control: no-store` on every GraphQL response, as the cache-control plugin sent without hints. */
function uncacheablePlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (!response.http.headers.has('cache-control')) response.http.headers.set('cache-control', 'no-store');
        },
      };
    },
  };
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : null;
}
