// graphql-ws on the gateway's /graphql: the same token check, limits and error masking as HTTP.
// Queries and mutations run through Apollo's pipeline; subscriptions through the gateway come with
// the subscription planner (issue 6) and until then get the schema's own validation error.
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import { buildSchema, GraphQLError, parse, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { HttpError } from '@citadel/kit/http';
import type { Logger } from '@citadel/kit/logger';
import type { VerifiedCaller } from './access-token';
import { clientInfo, type GatewayContext } from './context';

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
}

interface SocketExtra extends Record<PropertyKey, unknown> {
  caller?: VerifiedCaller;
}

const FORBIDDEN = 4403;
const TRY_AGAIN_LATER = 1013;

/** graphql-ws wants a schema in ExecutionArgs; execution goes through Apollo, never this one. */
const UNUSED_SCHEMA = buildSchema('type Query { _unused: Boolean }');

export function attachGraphqlWs(options: GraphqlWsOptions): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server: options.http, path: options.path, maxPayload: options.maxPayloadBytes });
  const run = async (args: ExecutionArgs): Promise<ExecutionResult> => {
    const { context, query, variables, operationName } = args.contextValue as {
      context: GatewayContext;
      query: string;
      variables?: Record<string, unknown>;
      operationName?: string;
    };
    const caller = await options.withPermissions(context.caller as VerifiedCaller);
    const response = await options.apollo.executeOperation(
      { query, ...(variables ? { variables } : {}), ...(operationName ? { operationName } : {}) },
      { contextValue: { ...context, caller } },
    );
    if (response.body.kind !== 'single') {
      return { errors: [new GraphQLError('Incremental delivery is not supported over WebSocket')] };
    }
    return response.body.singleResult as ExecutionResult;
  };
  const server = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const header = Object.entries(params).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
        try {
          (ctx.extra as SocketExtra).caller = await options.verifyAccessToken(typeof header === 'string' ? header : undefined);
          return true;
        } catch (error) {
          // Keys unavailable is ours to fix: tell the client to retry rather than that it is forbidden.
          if (error instanceof HttpError && error.status === 503) ctx.extra.socket.close(TRY_AGAIN_LATER, error.message);
          return false; // closes with 4403 Forbidden: a bad token never becomes an anonymous socket
        }
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
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          const message = error instanceof GraphQLError ? error.message : 'Syntax error';
          return [new GraphQLError(message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        return {
          schema: UNUSED_SCHEMA,
          document,
          operationName: payload.operationName ?? undefined,
          contextValue: {
            context: { caller, client: clientInfo(ctx.extra.request, options.trustedProxyHops), requestId, logger },
            query: payload.query,
            variables: payload.variables ?? undefined,
            operationName: payload.operationName ?? undefined,
          },
        } as ExecutionArgs;
      },
      execute: run,
      subscribe: run,
      // Apollo already formatted the errors (plain objects, masked); send them as they are.
      onNext: (_ctx, _id, _payload, _args, result) => result,
    },
    wss,
  );
  return {
    close: async () => {
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Why a socket's caller may no longer act: token expired or session ended; undefined if fine. */
function endedReason(caller: VerifiedCaller, isRevoked: (sessionId: string) => boolean): string | undefined {
  if (caller.expiresAt !== null && Date.now() >= caller.expiresAt) return 'Access token has expired';
  if (caller.sessionId && isRevoked(caller.sessionId)) return 'This session has ended; sign in again';
  return undefined;
}
