// One graphql-ws connection per subgraph, shared by every client subscription to that subgraph.
//
// The connection proves it is the gateway (an internal token in connectionParams, minted afresh at
// each connect); each subscribe message carries its caller's internal token in
// `extensions.citadel`. When a subgraph goes away (restart, deploy) every subscription on it gets
// `lost`; the relay resubscribes with a fresh token, which reconnects the shared connection.
//
// Client subscriptions that would send the subgraph the same subscribe message (same operation and
// variables, same caller as the internal token states it: user, session, permissions, policies;
// same client address and agent) share one upstream subscription: the subgraph would run each
// with the same authorization check and send each the same events. A tab opening the same feed
// fifty times then costs the subgraph one subscription, and every event arrives once, as one
// object, for all of them. Only the request id in the subgraph's logs is the first subscriber's.
import { ANONYMOUS, type Caller, type ClientInfo, type InternalTokenMinter } from '@citadel/kit/auth';
import type { Logger } from '@citadel/kit/logger';
import { SUBSCRIBE_EXTENSION, type SubscribeExtension } from '@citadel/kit/subgraph-subscriptions';
import type { ExecutionResult, GraphQLFormattedError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { Gauge, type Registry } from 'prom-client';
import WebSocket from 'ws';

export interface UpstreamRequest {
  service: string;
  url: string;
  query: string;
  operationName: string | undefined;
  variables: Record<string, unknown>;
  caller: Caller;
  client: ClientInfo;
  requestId: string;
  clientOperationName: string | null;
}

export interface UpstreamSink {
  next(result: ExecutionResult): void;
  /** The subgraph refused or failed the subscription (its errors, already masked there). */
  error(errors: readonly GraphQLFormattedError[]): void;
  /** The subgraph ended the subscription. */
  complete(): void;
  /** The connection went away: not the subscription's fault; resubscribe. */
  lost(reason: string): void;
}

/** One subscription on the subgraph and the client subscriptions it feeds. */
interface Shared {
  sinks: Set<UpstreamSink>;
  /** Resolves once the subscribe message went out (its token minted); rejects if it could not. */
  started: Promise<void>;
  unsubscribe: (() => void) | undefined;
}

interface Connection {
  client: Client;
  url: string;
  subscriptions: number;
  /** Whether its WebSocket is open now (it closes a while after its last subscription). */
  open: boolean;
}

export class UpstreamConnections {
  private readonly connections = new Map<string, Connection>();
  private readonly shared = new Map<string, Shared>();

  constructor(
    private readonly minter: InternalTokenMinter,
    private readonly logger: Logger,
    private readonly options: { keepAliveMs?: number } = {},
  ) {}

  /** Subscriptions open upstream and open sockets, per subgraph (for metrics and leak tests). */
  counts(): Record<string, { subscriptions: number; sockets: number }> {
    return Object.fromEntries([...this.connections].map(([service, c]) => [service, { subscriptions: c.subscriptions, sockets: c.open ? 1 : 0 }]));
  }

  useMetrics(registry: Registry): void {
    const counts = () => this.counts();
    new Gauge({
      name: 'citadel_gateway_upstream_subscriptions',
      help: 'Subscriptions the gateway holds open on each subgraph',
      labelNames: ['subgraph'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [subgraph, c] of Object.entries(counts())) this.set({ subgraph }, c.subscriptions);
      },
    });
    new Gauge({
      name: 'citadel_gateway_upstream_sockets',
      help: 'WebSocket connections open from the gateway to each subgraph',
      labelNames: ['subgraph'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [subgraph, c] of Object.entries(counts())) this.set({ subgraph }, c.sockets);
      },
    });
  }

  /** Starts a subscription on the subgraph, or joins an identical one; returns what stops it. */
  async subscribe(request: UpstreamRequest, sink: UpstreamSink): Promise<() => void> {
    const key = shareKey(request);
    let entry = this.shared.get(key);
    if (!entry) {
      const created: Shared = { sinks: new Set(), started: Promise.resolve(), unsubscribe: undefined };
      created.started = this.open(request, created, () => {
        if (this.shared.get(key) === created) this.shared.delete(key);
      });
      this.shared.set(key, created);
      entry = created;
    }
    const joined = entry;
    joined.sinks.add(sink);
    const leave = () => {
      if (!joined.sinks.delete(sink) || joined.sinks.size > 0) return;
      if (this.shared.get(key) === joined) this.shared.delete(key);
      joined.unsubscribe?.();
    };
    try {
      await joined.started;
    } catch (error) {
      leave();
      throw error;
    }
    return leave;
  }

  /** Sends the subscribe message for `entry`; every event, error and ending goes to its sinks. */
  private async open(request: UpstreamRequest, entry: Shared, forget: () => void): Promise<void> {
    const connection = this.connection(request.service, request.url);
    let token: string;
    try {
      token = await this.minter.mint(request.caller, request.service);
    } catch (error) {
      forget();
      throw error;
    }
    // Everyone left while the token was being minted: nothing to subscribe for.
    if (entry.sinks.size === 0) return forget();
    const extension: SubscribeExtension = {
      authorization: `Bearer ${token}`,
      ip: request.client.ip,
      userAgent: request.client.userAgent,
      requestId: request.requestId,
      operationName: request.clientOperationName,
    };
    connection.subscriptions += 1;
    let open = true;
    /** The upstream subscription is over: nobody may join it any more. */
    const close = (): Set<UpstreamSink> => {
      open = false;
      connection.subscriptions -= 1;
      forget();
      const sinks = new Set(entry.sinks);
      entry.sinks.clear();
      return sinks;
    };
    const unsubscribe = connection.client.subscribe<Record<string, unknown>>(
      {
        query: request.query,
        ...(request.operationName ? { operationName: request.operationName } : {}),
        variables: request.variables,
        extensions: { [SUBSCRIBE_EXTENSION]: extension },
      },
      {
        next: (result) => {
          if (!open) return;
          for (const sink of [...entry.sinks]) sink.next(result as ExecutionResult);
        },
        error: (error: unknown) => {
          if (!open) return;
          const sinks = close();
          const errors = Array.isArray(error) ? (error as GraphQLFormattedError[]) : undefined;
          const reason = errors ? '' : describe(error);
          for (const sink of sinks) {
            if (errors) sink.error(errors);
            else sink.lost(reason);
          }
        },
        complete: () => {
          if (!open) return;
          for (const sink of close()) sink.complete();
        },
      },
    );
    entry.unsubscribe = () => {
      if (!open) return;
      close();
      unsubscribe();
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.client.dispose()));
    this.connections.clear();
  }

  private connection(service: string, url: string): Connection {
    const wsUrl = url.replace(/^http/, 'ws');
    const existing = this.connections.get(service);
    if (existing && existing.url === wsUrl) return existing;
    if (existing) void existing.client.dispose(); // the supergraph moved the subgraph
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      lazy: true,
      // Closed a little after its last subscription ends, so a burst of resubscribes reuses it.
      lazyCloseTimeout: 5_000,
      keepAlive: this.options.keepAliveMs ?? 10_000,
      connectionAckWaitTimeout: 10_000,
      // Every subscription resubscribes itself with a fresh token (see the relay), so the client
      // itself never retries: a retried subscribe would resend an expired token.
      retryAttempts: 0,
      connectionParams: async () => ({ authorization: `Bearer ${await this.minter.mint(ANONYMOUS, service)}` }),
      on: {
        connected: () => {
          connection.open = true;
          this.logger.debug({ subgraph: service }, 'subscription connection open');
        },
        closed: (event) => {
          connection.open = false;
          this.logger.debug({ subgraph: service, code: (event as { code?: number }).code }, 'subscription connection closed');
        },
      },
    });
    const connection: Connection = { client, url: wsUrl, subscriptions: 0, open: false };
    this.connections.set(service, connection);
    return connection;
  }
}

/** Subscriptions with the same key would send the subgraph the same subscribe message and caller. */
function shareKey(request: UpstreamRequest): string {
  const { caller, client } = request;
  return JSON.stringify([
    request.service,
    request.url,
    request.query,
    request.operationName ?? null,
    request.variables,
    caller.userId,
    caller.sessionId,
    caller.permissions,
    caller.policies,
    client.ip,
    client.userAgent,
    request.clientOperationName,
  ]);
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  const event = error as { code?: number; reason?: string; message?: string; error?: unknown };
  if (typeof event?.code === 'number') return `connection closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`;
  if (event?.error instanceof Error) return event.error.message;
  if (typeof event?.message === 'string') return event.message;
  return 'connection failed';
}
