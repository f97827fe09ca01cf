// One graphql-ws connection per subgraph, shared by every client subscription to that subgraph.
//
// The connection proves it is the gateway (an internal token in connectionParams, minted afresh at
// each connect); each subscribe message carries its caller's internal token in
// `extensions.citadel`. When a subgraph goes away (restart, deploy) every subscription on it gets
// `lost`; the relay resubscribes with a fresh token, which reconnects the shared connection.
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

interface Connection {
  client: Client;
  url: string;
  subscriptions: number;
  /** Whether its WebSocket is open now (it closes a while after its last subscription). */
  open: boolean;
}

export class UpstreamConnections {
  private readonly connections = new Map<string, Connection>();

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

  /** Starts a subscription on the subgraph; returns what stops it. */
  async subscribe(request: UpstreamRequest, sink: UpstreamSink): Promise<() => void> {
    const connection = this.connection(request.service, request.url);
    const extension: SubscribeExtension = {
      authorization: `Bearer ${await this.minter.mint(request.caller, request.service)}`,
      ip: request.client.ip,
      userAgent: request.client.userAgent,
      requestId: request.requestId,
      operationName: request.clientOperationName,
    };
    connection.subscriptions += 1;
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      connection.subscriptions -= 1;
    };
    const unsubscribe = connection.client.subscribe<Record<string, unknown>>(
      {
        query: request.query,
        ...(request.operationName ? { operationName: request.operationName } : {}),
        variables: request.variables,
        extensions: { [SUBSCRIBE_EXTENSION]: extension },
      },
      {
        next: (result) => open && sink.next(result as ExecutionResult),
        error: (error: unknown) => {
          if (!open) return;
          close();
          if (Array.isArray(error)) sink.error(error as GraphQLFormattedError[]);
          else sink.lost(describe(error));
        },
        complete: () => {
          if (!open) return;
          close();
          sink.complete();
        },
      },
    );
    return () => {
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

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  const event = error as { code?: number; reason?: string; message?: string; error?: unknown };
  if (typeof event?.code === 'number') return `connection closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`;
  if (event?.error instanceof Error) return event.error.message;
  if (typeof event?.message === 'string') return event.message;
  return 'connection failed';
}
