// WebSocket connections and subscriptions per client (the user, else the address) on this gateway
// node: WS_MAX_CONNECTIONS_PER_CLIENT and WS_MAX_SUBSCRIPTIONS_PER_CLIENT.
import { AppError } from '@citadel/kit/errors';
import { Counter, type Registry } from 'prom-client';
import type { VerifiedCaller } from './access-token';

export const WS_LIMIT_ERRORS = { TOO_MANY_SUBSCRIPTIONS: 'TOO_MANY_SUBSCRIPTIONS' } as const;

/**
 * Close code for a socket over the connection limit: 1008 Policy Violation (RFC 6455). graphql-ws
 * clients treat every 1000-1999 code but 1000-1001, 1005-1006 and 1012-1014 as fatal and do not
 * reconnect, so a client over the limit stops instead of reconnecting in a loop. (4429 is
 * graphql-ws's own "Too many initialisation requests", a protocol error of one socket.)
 */
export const TOO_MANY_CONNECTIONS = { code: 1008, reason: 'Too many connections for this client' } as const;

export interface WsLimitsOptions {
  /** Open sockets one client may hold on this node (positive integer). */
  maxConnectionsPerClient: number;
  /** Subscriptions one client may have running across all its sockets on this node (positive integer). */
  maxSubscriptionsPerClient: number;
}

/** The key a client's sockets and subscriptions are counted under; the same choice as the rate limiter's. */
export function clientKey(caller: Pick<VerifiedCaller, 'userId'>, ip: string | null): string {
  return caller.userId ? `user:${caller.userId}` : `ip:${ip ?? 'unknown'}`;
}

interface Usage {
  connections: number;
  subscriptions: number;
}

export class WsLimits {
  private readonly usage = new Map<string, Usage>();
  private refused?: Counter<'reason'>;

  constructor(readonly options: WsLimitsOptions) {
    for (const [name, value] of Object.entries(options)) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  }

  /** A slot for one socket of `client`, or undefined when the client already holds its maximum. */
  connect(client: string): SocketSlots | undefined {
    const usage = this.usage.get(client) ?? { connections: 0, subscriptions: 0 };
    if (usage.connections >= this.options.maxConnectionsPerClient) {
      this.refused?.inc({ reason: 'connections' });
      return undefined;
    }
    usage.connections++;
    this.usage.set(client, usage);
    return new SocketSlots(this, client);
  }

  connections(client: string): number {
    return this.usage.get(client)?.connections ?? 0;
  }

  subscriptions(client: string): number {
    return this.usage.get(client)?.subscriptions ?? 0;
  }

  /** Clients holding anything; a client with nothing open is forgotten. */
  get clients(): number {
    return this.usage.size;
  }

  useMetrics(registry: Registry): void {
    this.refused = new Counter({
      name: 'citadel_gateway_ws_refused_total',
      help: 'WebSocket connections and subscriptions refused for being over the per-client limit',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
  }

  /** @internal SocketSlots' bookkeeping. */
  take(client: string): boolean {
    const usage = this.usage.get(client);
    if (!usage || usage.subscriptions >= this.options.maxSubscriptionsPerClient) {
      this.refused?.inc({ reason: 'subscriptions' });
      return false;
    }
    usage.subscriptions++;
    return true;
  }

  /** @internal */
  give(client: string, connections: number, subscriptions: number): void {
    const usage = this.usage.get(client);
    if (!usage) return;
    usage.connections -= connections;
    usage.subscriptions -= subscriptions;
    if (usage.connections <= 0 && usage.subscriptions <= 0) this.usage.delete(client);
  }
}

/**
 * One socket's share of its client's counts. Every release is idempotent, and closing the socket
 * releases whatever its subscriptions still hold, so no ending path can leak or count twice.
 */
export class SocketSlots {
  private held = 0;
  private closed = false;

  constructor(
    private readonly limits: WsLimits,
    readonly client: string,
  ) {}

  /**
   * A subscription slot: its release function, or undefined when the client is at its maximum.
   * After the socket closed, nothing is counted (graphql-ws ends that subscription at once).
   */
  subscribe(): (() => void) | undefined {
    if (this.closed) return () => {};
    if (!this.limits.take(this.client)) return undefined;
    this.held++;
    let released = false;
    return () => {
      if (released || this.closed) return;
      released = true;
      this.held--;
      this.limits.give(this.client, 0, 1);
    };
  }

  /** The socket closed: its connection and its remaining subscriptions are free again. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.limits.give(this.client, 1, this.held);
    this.held = 0;
  }

  /** The error a subscription over the limit is answered with. */
  tooMany(): AppError {
    const max = this.limits.options.maxSubscriptionsPerClient;
    return new AppError(WS_LIMIT_ERRORS.TOO_MANY_SUBSCRIPTIONS, `Too many subscriptions for this client (at most ${max} at once); end one first`, { limit: max });
  }
}

/**
 * `source` that calls `release` once when it ends: done, failed, or stopped by return()/throw().
 * A hand-written iterator rather than an async generator: a generator's return() waits behind a
 * pending next(), so a client's complete would not reach the source until its next event.
 */
export function releasingOnEnd<T>(source: AsyncIterator<T>, release: () => void): AsyncIterableIterator<T> {
  return {
    next: async () => {
      try {
        const step = await source.next();
        if (step.done) release();
        return step;
      } catch (error) {
        release();
        throw error;
      }
    },
    return: async (value?: unknown) => {
      release();
      return (await source.return?.(value)) ?? { value: undefined, done: true };
    },
    throw: async (error?: unknown) => {
      release();
      if (source.throw) return source.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
