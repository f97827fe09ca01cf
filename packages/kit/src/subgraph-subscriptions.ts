// A subgraph's subscriptions, served over graphql-ws on its /graphql path for the gateway.
//
// The gateway keeps one connection per subgraph and multiplexes every client's subscriptions on
// it. The connection proves it is the gateway (an internal token in `connectionParams`); each
// subscribe message says whose subscription it is (the caller's internal token, client and ids in
// `extensions.citadel`), so each subscription runs with its own caller, exactly as an HTTP
// request would. Every event is executed with a fresh context (its own entity manager fork and
// DataLoaders): a subscription open for hours never serves an event from a stale cache.
// An error that ends a subscription (a member removed, say) arrives as a last `next` with the
// error, then `complete`, so the gateway can relay the reason; the connection stays up.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { Gauge, type Registry } from 'prom-client';
import { WebSocketServer } from 'ws';
import { InternalTokenError, type Caller, type ClientInfo } from './auth';
import type { Orm } from './db';
import { COMMON_ERRORS, formatError } from './errors';
import type { Logger } from './logger';
import { runInRequest } from './request-context';
import type { SubgraphContext } from './subgraph';
import { subgraphAuthorizer, unauthorizedOperation } from './subgraph-authorization';
import { closeWebSocketServer } from './ws-close';

/** The key of `extensions` in a subscribe message that carries the caller. */
export const SUBSCRIBE_EXTENSION = 'citadel';

/** What the gateway sends in `extensions.citadel` with each subscribe message. */
export interface SubscribeExtension {
  /** `Bearer <internal token>` for the caller, minted for this subgraph. */
  authorization: string;
  ip: string | null;
  userAgent: string | null;
  requestId: string;
  /** The client's operation name, for logs and audit. */
  operationName: string | null;
}

export interface SubgraphSubscriptionsOptions<TContext extends SubgraphContext> {
  http: Server;
  path: string;
  schema: GraphQLSchema;
  orm: Orm;
  logger: Logger;
  verifyInternalToken: (authorization: string | undefined) => Promise<Caller>;
  extendContext: (base: SubgraphContext) => TContext;
  maxPayloadBytes?: number;
}

export interface SubgraphSubscriptions {
  /** Subscriptions open now. */
  readonly active: number;
  useMetrics(registry: Registry): void;
  close(): Promise<void>;
}

interface Scope {
  caller: Caller;
  client: ClientInfo;
  requestId: string;
  operationName: string | null;
  logger: Logger;
}

const FORBIDDEN = 4403;

export function serveSubgraphSubscriptions<TContext extends SubgraphContext>(
  options: SubgraphSubscriptionsOptions<TContext>,
): SubgraphSubscriptions {
  const { schema, logger } = options;
  const denied = subgraphAuthorizer(schema);
  const scopes = new WeakMap<object, Scope>();
  let active = 0;
  let gauge: Gauge | undefined;
  const track = (delta: number) => {
    active += delta;
    gauge?.set(active);
  };

  const contextFor = (scope: Scope): TContext =>
    options.extendContext({
      em: options.orm.em.fork() as EntityManager,
      caller: scope.caller,
      client: scope.client,
      requestId: scope.requestId,
      logger: scope.logger,
    });

  const subscribe = async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const scope = scopes.get(args.contextValue as object)!;
    const inRequest = <T>(work: () => T): T =>
      runInRequest({ caller: scope.caller, client: scope.client, requestId: scope.requestId, operationName: scope.operationName }, work);
    const stream = await inRequest(() => createSourceEventStream({ ...args, contextValue: contextFor(scope) }));
    if (!(Symbol.asyncIterator in stream)) return stream;
    track(1);
    return eventsUntilEnded(stream[Symbol.asyncIterator](), {
      run: (payload) => inRequest(() => execute({ ...args, rootValue: payload, contextValue: contextFor(scope) })),
      onEnd: () => track(-1),
    });
  };

  const wss = new WebSocketServer({ server: options.http, path: options.path, maxPayload: options.maxPayloadBytes ?? 1_048_576 });
  const server = useServer<Record<string, unknown> | undefined, { gateway?: Caller }>(
    {
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        try {
          await options.verifyInternalToken(typeof authorization === 'string' ? authorization : undefined);
          return true;
        } catch (error) {
          if (!(error instanceof InternalTokenError)) throw error;
          logger.warn({ reason: error.message }, 'refused a subscription connection without a valid internal token');
          ctx.extra.socket.close(FORBIDDEN, 'Subscriptions are reached through the gateway');
          return false;
        }
      },
      onSubscribe: async (_ctx, _id, payload) => {
        const extension = (payload.extensions?.[SUBSCRIBE_EXTENSION] ?? {}) as Partial<SubscribeExtension>;
        let caller: Caller;
        try {
          caller = await options.verifyInternalToken(typeof extension.authorization === 'string' ? extension.authorization : undefined);
        } catch (error) {
          if (!(error instanceof InternalTokenError)) throw error;
          return [coded(COMMON_ERRORS.UNAUTHENTICATED, error.message)];
        }
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [coded('GRAPHQL_PARSE_FAILED', error instanceof GraphQLError ? error.message : 'Syntax error')];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors.map((e) => coded('GRAPHQL_VALIDATION_FAILED', e.message));
        const operationName = payload.operationName ?? null;
        const operation = getOperationAST(document, operationName);
        if (!operation) return [coded('OPERATION_RESOLUTION_FAILURE', 'The message names no operation of its document')];
        if (operation.operation !== 'subscription') {
          return [coded(COMMON_ERRORS.BAD_USER_INPUT, 'Over WebSocket this subgraph serves subscriptions only; send queries and mutations over HTTP')];
        }
        const requestId = typeof extension.requestId === 'string' && extension.requestId.length <= 200 ? extension.requestId : randomUUID();
        const scopeLogger = logger.child({ requestId, transport: 'ws', ...(caller.userId ? { userId: caller.userId } : {}) });
        const coordinates = denied(document, operationName, caller);
        if (coordinates.length > 0) {
          scopeLogger.warn({ denied: coordinates }, 'refused a subscription with fields the caller may not use');
          return [unauthorizedOperation()];
        }
        const contextValue = {};
        scopes.set(contextValue, {
          caller,
          client: { ip: stringOrNull(extension.ip), userAgent: stringOrNull(extension.userAgent) },
          requestId,
          operationName: stringOrNull(extension.operationName)?.slice(0, 200) ?? null,
          logger: scopeLogger,
        });
        return { schema, document, operationName: payload.operationName ?? undefined, variableValues: payload.variables ?? undefined, contextValue };
      },
      subscribe,
      onNext: (_ctx, _id, _payload, args, result) => formatResult(result, scopes.get(args.contextValue as object)?.logger ?? logger),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e.toJSON(), e)),
    },
    wss,
  );

  return {
    get active() {
      return active;
    },
    useMetrics(registry) {
      gauge = new Gauge({ name: 'citadel_subscriptions_active', help: 'Subscriptions open on this subgraph', registers: [registry] });
      gauge.set(active);
    },
    async close() {
      await closeWebSocketServer(wss, server);
    },
  };
}

/**
 * Executes each event in order. An error thrown by the event source (the subscription may no
 * longer be served: a member was removed) becomes one last result carrying it, then the end.
 */
function eventsUntilEnded(
  source: AsyncIterator<unknown>,
  options: { run: (payload: unknown) => Promise<ExecutionResult> | ExecutionResult; onEnd: () => void },
): AsyncIterableIterator<ExecutionResult> {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    options.onEnd();
  };
  return {
    async next(): Promise<IteratorResult<ExecutionResult>> {
      if (done) return { value: undefined, done: true };
      let step: IteratorResult<unknown>;
      try {
        step = await source.next();
      } catch (error) {
        finish();
        // graphql-ws reads on to `done` and never calls return(): release a source that did not
        // close itself when it failed (one wrapping a pubsub listener, say).
        void Promise.resolve()
          .then(() => source.return?.())
          .catch(() => undefined);
        const ended = error instanceof GraphQLError ? error : new GraphQLError(error instanceof Error ? error.message : String(error), { originalError: error instanceof Error ? error : undefined });
        return { value: { errors: [ended] }, done: false };
      }
      if (step.done || done) {
        finish();
        return { value: undefined, done: true };
      }
      return { value: await options.run(step.value), done: false };
    },
    async return(): Promise<IteratorResult<ExecutionResult>> {
      finish();
      await source.return?.();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
      finish();
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Errors masked as over HTTP (formatError); unexpected ones are logged first. */
function formatResult(result: ExecutionResult, logger: Logger): ExecutionResult {
  if (!result.errors?.length) return result;
  const errors = result.errors.map((error) => {
    const formatted = formatError(error.toJSON(), error);
    if (formatted.extensions?.code === COMMON_ERRORS.INTERNAL_SERVER_ERROR) logger.error({ err: error.originalError ?? error }, 'subscription event failed');
    return formatted;
  });
  return { ...result, errors } as unknown as ExecutionResult;
}

function coded(code: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

