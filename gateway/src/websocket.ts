// graphql-ws on the gateway's /graphql: the same token check, limits and error masking as HTTP.
// Queries and mutations run through Apollo's pipeline; subscriptions through the SubscriptionRelay,
// which plans them and relays events from the owning subgraph (see subscriptions/relay.ts).
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import { buildSchema, getOperationAST, GraphQLError, parse, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { formatError } from '@citadel/kit/errors';
import { HttpError } from '@citadel/kit/http';
import type { Logger } from '@citadel/kit/logger';
import type { VerifiedCaller } from './access-token';
import { clientInfo, type GatewayContext } from './context';
import { nestingError } from './limits';
import type { SubscriptionRelay } from './subscriptions/relay';
import type { PersistedDocuments } from './persisted-documents';
import { closeWebSocketServer } from '@citadel/kit/ws-close';
import { clientKey, releasingOnEnd, TOO_MANY_CONNECTIONS, type SocketSlots, type WsLimits } from './ws-limits';

export interface GraphqlWsOptions {
  http: Server;
  path: string;
  apollo: ApolloServer<GatewayContext>;
  verifyAccessToken: (authorization: string | undefined) => Promise<VerifiedCaller>;
  /** Fills in the caller's current permissions; run per operation, since grants change under an open socket. */
  withPermissions: (caller: VerifiedCaller) => Promise<VerifiedCaller>;
  trustedProxyHops: number;
  /** Checked at every operation, since a socket outlives the session it was opened with. */
  isRevoked: (sessionId: string) => boolean;
  logger: Logger;
  maxPayloadBytes: number;
  /** Runs subscriptions; without it they are refused. */
  relay?: SubscriptionRelay;
  /** PERSISTED_DOCUMENTS for queries and subscriptions alike; without it every document runs. */
  persisted?: PersistedDocuments;
  /** Counts a subscription against the caller's rate limits (queries and mutations are counted inside Apollo). */
  rateLimit?: (context: GatewayContext, operationName: string | undefined) => Promise<GraphQLError | undefined>;
  /** Sockets and subscriptions per client on this node; without it there is no limit. */
  limits?: WsLimits;
}

interface OperationScope {
  context: GatewayContext & { caller: VerifiedCaller };
  document: DocumentNode;
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  disconnect: (code: number, reason: string) => void;
  slots?: SocketSlots;
}

interface SocketExtra extends Record<PropertyKey, unknown> {
  caller?: VerifiedCaller;
  /** This socket's share of its client's limits (set once the caller is known). */
  slots?: SocketSlots;
}

const FORBIDDEN = 4403;
const TRY_AGAIN_LATER = 1013;

/** graphql-ws wants a schema in ExecutionArgs; execution goes through Apollo, never this one. */
const UNUSED_SCHEMA = buildSchema('type Query { _unused: Boolean }');

export function attachGraphqlWs(options: GraphqlWsOptions): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server: options.http, path: options.path, maxPayload: options.maxPayloadBytes });
  // Registered before graphql-ws's own listener, so it sees each message first (see refuseServerMessages).
  wss.on('connection', refuseServerMessages);
  const run = async (args: ExecutionArgs): Promise<ExecutionResult> => {
    const { context, query, variables, operationName } = args.contextValue as OperationScope;
    const caller = await options.withPermissions(context.caller);
    const response = await options.apollo.executeOperation(
      { query, ...(variables ? { variables } : {}), ...(operationName ? { operationName } : {}) },
      { contextValue: { ...context, caller } },
    );
    if (response.body.kind !== 'single') {
      return { errors: [new GraphQLError('Incremental delivery is not supported over WebSocket')] };
    }
    return response.body.singleResult as ExecutionResult;
  };
  const subscribe = async (args: ExecutionArgs) => {
    const scope = args.contextValue as OperationScope;
    if (!options.relay) return { errors: [new GraphQLError('Subscriptions are not served by this gateway', { extensions: { code: 'BAD_REQUEST' } })] };
    let release: (() => void) | undefined;
    try {
      const limited = await options.rateLimit?.(scope.context, getOperationAST(scope.document, scope.operationName)?.name?.value);
      if (limited) return { errors: [limited] };
      // Taken before the relay starts anything; every way out below gives it back exactly once.
      release = scope.slots ? scope.slots.subscribe() : () => {};
      if (!release) return { errors: [scope.slots!.tooMany()] };
      const result = await options.relay.subscribe({
        document: scope.document,
        query: scope.query,
        operationName: scope.operationName ?? null,
        variables: scope.variables,
        context: scope.context,
        disconnect: scope.disconnect,
      });
      if (!isAsyncIterable(result)) {
        release();
        return result;
      }
      return releasingOnEnd(result, release);
    } catch (error) {
      release?.();
      // Thrown out of here, graphql-ws would close the whole socket with the error's message.
      scope.context.logger.error({ err: error }, 'could not start a subscription');
      return { errors: [new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })] };
    }
  };
  const server = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const header = Object.entries(params).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
        let caller: VerifiedCaller;
        try {
          caller = await options.verifyAccessToken(typeof header === 'string' ? header : undefined);
        } catch (error) {
          // Keys unavailable is ours to fix: tell the client to retry rather than that it is forbidden.
          if (error instanceof HttpError && error.status === 503) ctx.extra.socket.close(TRY_AGAIN_LATER, error.message);
          return false; // closes with 4403 Forbidden: a bad token never becomes an anonymous socket
        }
        const extra = ctx.extra as SocketExtra;
        extra.caller = caller;
        if (!options.limits) return true;
        const { socket } = ctx.extra;
        // Closed while the token was checked: its 'close' has fired already and would never free a slot.
        if (socket.readyState === socket.CLOSED) return false;
        // Counted only now, since the user (the client a slot belongs to) is known only from the token.
        const slots = options.limits.connect(clientKey(caller, clientInfo(ctx.extra.request, options.trustedProxyHops).ip));
        if (!slots) {
          // A code graphql-ws clients do not retry, so a client over the limit does not reconnect in a loop.
          socket.close(TOO_MANY_CONNECTIONS.code, TOO_MANY_CONNECTIONS.reason);
          return false;
        }
        extra.slots = slots;
        socket.once('close', () => slots.close());
        return true;
      },
      onSubscribe: (ctx, _id, payload) => {
        const requestId = randomUUID();
        const caller = (ctx.extra as SocketExtra).caller!;
        const ended = endedReason(caller, options.isRevoked);
        if (ended) {
          // The error message goes out first; then the socket closes, since every operation on it would fail.
          setTimeout(() => ctx.extra.socket.close(FORBIDDEN, ended), 50).unref();
          return [new GraphQLError(ended, { extensions: { code: 'UNAUTHENTICATED' } })];
        }
        const logger = options.logger.child({ requestId, transport: 'ws', ...(caller.userId ? { userId: caller.userId } : {}) });
        // Resolved here, before the split into Apollo (queries) and the relay (subscriptions), so both obey it.
        const resolution = options.persisted?.resolve(payload) ?? { kind: 'as-is' };
        if (resolution.kind === 'refused') return [resolution.error];
        const query = resolution.kind === 'document' ? resolution.query : payload.query;
        const tooDeep = nestingError(query);
        if (tooDeep) return [tooDeep];
        let document: DocumentNode;
        try {
          document = parse(query);
        } catch (error) {
          const message = error instanceof GraphQLError ? error.message : 'Syntax error';
          return [new GraphQLError(message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        const scope: OperationScope = {
          context: { caller, client: clientInfo(ctx.extra.request, options.trustedProxyHops), requestId, logger },
          document,
          query,
          variables: payload.variables ?? undefined,
          operationName: payload.operationName ?? undefined,
          disconnect: (code, reason) => ctx.extra.socket.close(code, reason),
          slots: (ctx.extra as SocketExtra).slots,
        };
        return { schema: UNUSED_SCHEMA, document, operationName: payload.operationName ?? undefined, contextValue: scope } as ExecutionArgs;
      },
      execute: run,
      subscribe: (args) => (isSubscription(args) ? subscribe(args) : run(args)),
      // Apollo already formatted its errors (plain objects, masked); subscription events are masked here the same way.
      onNext: (ctx, _id, _payload, args, result) => {
        batchWrites(ctx.extra.request.socket);
        return isSubscription(args) ? masked(result) : result;
      },
    },
    wss,
  );
  return {
    close: async () => {
      await closeWebSocketServer(wss, server);
    },
  };
}

const SERVER_MESSAGES = new Set(['connection_ack', 'next', 'error']);

/**
 * A client sending a message only servers send (found by the fuzz suite) makes graphql-ws throw,
 * and it closes the socket with 4500 Internal server error, logged as our fault. The protocol says
 * an unexpected message is 4400; that close goes out first, and graphql-ws's later one is dropped.
 */
function refuseServerMessages(socket: WebSocket): void {
  socket.on('message', (data) => {
    let type: unknown;
    try {
      type = (JSON.parse(String(data)) as { type?: unknown } | null)?.type;
    } catch {
      return; // graphql-ws answers malformed JSON with 4400 itself
    }
    if (typeof type === 'string' && SERVER_MESSAGES.has(type)) socket.close(4400, `Unexpected message of type ${type}`);
  });
}

/** Sockets whose writes are held until the end of this turn of the event loop. */
const corked = new Set<Socket>();

/**
 * One event reaches a socket's many subscriptions within one turn of the event loop: written as
 * they come, each message is a system call of its own (most of the gateway's time in a fan-out).
 * The socket is corked until the turn ends, so they go out as one write.
 */
function batchWrites(socket: Socket): void {
  if (corked.has(socket)) return;
  if (corked.size === 0) setImmediate(uncorkAll);
  corked.add(socket);
  socket.cork();
}

function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.clear();
}

function isAsyncIterable<T>(value: T | AsyncIterableIterator<ExecutionResult>): value is AsyncIterableIterator<ExecutionResult> {
  return typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';
}

/** Per operation, remembered: onNext asks for every event. */
const subscriptions = new WeakMap<ExecutionArgs, boolean>();

function isSubscription(args: ExecutionArgs): boolean {
  let known = subscriptions.get(args);
  if (known === undefined) subscriptions.set(args, (known = getOperationAST(args.document, args.operationName)?.operation === 'subscription'));
  return known;
}

/** Errors as Apollo's formatError would send them over HTTP: coded ones kept, the rest masked. */
function masked(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  const errors = result.errors.map((error: GraphQLError | GraphQLFormattedError) =>
    error instanceof GraphQLError ? formatError(error.toJSON(), error) : formatError(error, new GraphQLError(error.message, { extensions: error.extensions })),
  );
  return { ...result, errors } as unknown as ExecutionResult;
}

/** Why a socket's caller may no longer act: token expired or session ended; undefined if fine. */
export function endedReason(caller: VerifiedCaller, isRevoked: (sessionId: string) => boolean): string | undefined {
  if (caller.expiresAt !== null && Date.now() >= caller.expiresAt) return 'Access token has expired';
  if (caller.sessionId && isRevoked(caller.sessionId)) return 'This session has ended; sign in again';
  return undefined;
}
