// graphql-ws against a subgraph as the gateway uses it, for tests: one connection carrying the
// gateway's internal token, each subscription carrying its caller's in `extensions.citadel`.
import { randomUUID } from 'node:crypto';
import { SUBSCRIBE_EXTENSION, type SubscribeExtension } from '@citadel/kit/subgraph-subscriptions';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

/** `token` null: a connection that carries no internal token at all. */
export function connectAsGateway(baseUrl: string, token: (() => Promise<string>) | null): Client {
  return createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    lazy: true,
    // A refusal must reach the test, not be retried away.
    retryAttempts: 0,
    ...(token ? { connectionParams: async () => ({ authorization: `Bearer ${await token()}` }) } : {}),
  });
}

export interface Watch<T> {
  /** Every `next` received, in order. */
  readonly events: FormattedExecutionResult<T, unknown>[];
  /** Settles when the subscription ends: completed (no error), or failed (GraphQL errors, or the socket's close event). */
  readonly ended: Promise<{ error?: unknown }>;
  isEnded(): boolean;
  /** The events once there are `count`; rejects when it ends with fewer, or after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<FormattedExecutionResult<T, unknown>[]>;
  unsubscribe(): void;
}

interface Waiter {
  count: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export function watch<T>(
  client: Client,
  query: string,
  options: { variables?: Record<string, unknown>; authorization: Promise<string> },
): Watch<T> {
  const events: FormattedExecutionResult<T, unknown>[] = [];
  const waiters = new Set<Waiter>();
  let endedWith: { error?: unknown } | undefined;
  let settle!: (value: { error?: unknown }) => void;
  const ended = new Promise<{ error?: unknown }>((resolve) => (settle = resolve));
  let stop: (() => void) | undefined;
  let stopped = false;

  const check = () => {
    for (const waiter of waiters) {
      if (events.length >= waiter.count) waiter.resolve();
      else if (endedWith) waiter.reject(new Error(`the subscription ended after ${events.length} of ${waiter.count} events: ${JSON.stringify(events)} ${describe(endedWith.error)}`));
    }
  };
  const end = (result: { error?: unknown }) => {
    if (endedWith) return;
    endedWith = result;
    settle(result);
    check();
  };

  void options.authorization.then((authorization) => {
    if (stopped) return;
    const extension: SubscribeExtension = { authorization, ip: '203.0.113.7', userAgent: 'workspaces-test', requestId: randomUUID(), operationName: null };
    stop = client.subscribe<T>(
      { query, variables: options.variables ?? {}, extensions: { [SUBSCRIBE_EXTENSION]: extension } },
      {
        next: (result) => {
          events.push(result);
          check();
        },
        error: (error) => end({ error }),
        complete: () => end({}),
      },
    );
  });

  return {
    events,
    ended,
    isEnded: () => endedWith !== undefined,
    waitFor(count, timeoutMs = 5_000) {
      if (events.length >= count) return Promise.resolve(events);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`waited ${timeoutMs} ms for ${count} events, got ${events.length}: ${JSON.stringify(events)}`)), timeoutMs);
        const waiter: Waiter = { count, resolve: () => done(), reject: (error) => done(error) };
        const done = (error?: Error) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          if (error) reject(error);
          else resolve(events);
        };
        waiters.add(waiter);
        check();
      });
    },
    unsubscribe() {
      stopped = true;
      stop?.();
    },
  };
}

function describe(error: unknown): string {
  if (error === undefined) return '(completed)';
  if (Array.isArray(error)) return JSON.stringify(error);
  const event = error as { code?: number; reason?: string };
  return typeof event.code === 'number' ? `(closed ${event.code} ${event.reason ?? ''})` : String(error);
}
