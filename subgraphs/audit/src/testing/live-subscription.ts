// A subscription over graphql-ws to the audit app, opened as the gateway opens one: the connection
// carries the gateway's internal token, the subscribe message the caller's (extensions.citadel).
import { randomUUID } from 'node:crypto';
import type { SubscribeExtension } from '@citadel/kit/subgraph-subscriptions';
import { SUBSCRIBE_EXTENSION } from '@citadel/kit/subgraph-subscriptions';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface LiveSubscriptionOptions {
  variables?: Record<string, unknown>;
  operationName?: string;
}

export interface LiveError {
  message: string;
  extensions?: Record<string, unknown>;
}

export interface LiveSubscription<T> {
  /** `data` of each event, in the order received. */
  readonly events: T[];
  /** Errors: a refusal at subscribe, or the last error that ended the subscription. */
  readonly errors: LiveError[];
  /** True once the server completed or failed the subscription. */
  readonly ended: boolean;
  /** Resolves with the events once at least `count` arrived; rejects if it ends first or `timeoutMs` passes. */
  waitForEvents(count: number, timeoutMs?: number): Promise<T[]>;
  /** Resolves once the server completed or failed the subscription. */
  waitForEnd(timeoutMs?: number): Promise<void>;
  /** Sends `complete`: the client unsubscribes, the connection stays open. */
  unsubscribe(): void;
  /** Closes the connection (a client going away politely). */
  close(): void;
  /** Drops the connection with no close handshake (a client that vanished). */
  terminate(): void;
}

export interface LiveConnection {
  connectionToken: () => Promise<string>;
  callerToken: () => Promise<string>;
}

export async function openLiveSubscription<T>(
  url: string,
  query: string,
  options: LiveSubscriptionOptions & LiveConnection,
): Promise<LiveSubscription<T>> {
  const connectionToken = await options.connectionToken();
  const extension: SubscribeExtension = {
    authorization: `Bearer ${await options.callerToken()}`,
    ip: '198.51.100.20',
    userAgent: 'vitest-live',
    requestId: randomUUID(),
    operationName: options.operationName ?? null,
  };
  let socket: WebSocket | undefined;
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${connectionToken}` },
    on: { connected: (connected) => (socket = connected as WebSocket) },
  });
  const events: T[] = [];
  const errors: LiveError[] = [];
  let ended = false;
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const stop = client.subscribe<T>(
    { query, variables: options.variables ?? {}, operationName: options.operationName ?? null, extensions: { [SUBSCRIBE_EXTENSION]: extension } },
    {
      next: (result) => {
        if (result.errors) errors.push(...(result.errors as LiveError[]));
        if (result.data) events.push(result.data);
        changed();
      },
      error: (error) => {
        errors.push(...asErrors(error));
        ended = true;
        changed();
      },
      complete: () => {
        ended = true;
        changed();
      },
    },
  );
  const waitUntil = (done: () => boolean, what: () => string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (done()) finish(resolve);
        else if (ended) finish(() => reject(new Error(`The subscription ended before ${what()}; errors: ${JSON.stringify(errors)}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`Timed out waiting for ${what()}; errors: ${JSON.stringify(errors)}`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });
  return {
    events,
    errors,
    get ended() {
      return ended;
    },
    waitForEvents: async (count, timeoutMs = 5_000) => {
      await waitUntil(
        () => events.length >= count,
        () => `${count} events (got ${events.length})`,
        timeoutMs,
      );
      return events;
    },
    waitForEnd: (timeoutMs = 5_000) =>
      waitUntil(
        () => ended,
        () => 'the end',
        timeoutMs,
      ),
    unsubscribe: () => stop(),
    close: () => void client.dispose(),
    terminate: () => socket?.terminate(),
  };
}

function asErrors(error: unknown): LiveError[] {
  if (Array.isArray(error)) return error as LiveError[];
  if (error instanceof Error) return [{ message: error.message }];
  const close = error as { code?: number; reason?: string };
  return [{ message: `connection closed (${close.code ?? '?'} ${close.reason ?? ''})`, extensions: { closeCode: close.code } }];
}
