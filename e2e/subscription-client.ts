// A graphql-ws client for tests: collects a subscription's events and says when it ended.
import type { ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Watched<T = Record<string, unknown>> {
  events: ExecutionResult<T>[];
  /** Resolves when the server completed the subscription (or it failed): with the error, if any. */
  ended: Promise<unknown>;
  isEnded(): boolean;
  /** Waits until at least `count` events arrived; throws with what did arrive after `limitMs`. */
  waitFor(count: number, limitMs?: number): Promise<ExecutionResult<T>[]>;
  unsubscribe(): void;
}

/** A socket to a gateway's /graphql, authenticated with `token` (if any). */
export function wsClient(httpUrl: string, token?: string): Client {
  return createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

export function watch<T = Record<string, unknown>>(client: Client, query: string, variables: Record<string, unknown> = {}): Watched<T> {
  const events: ExecutionResult<T>[] = [];
  let ended = false;
  let resolveEnded!: (value: unknown) => void;
  const endedPromise = new Promise<unknown>((resolve) => (resolveEnded = resolve));
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        events.push(value as ExecutionResult<T>);
        notify();
      },
      error: (error) => {
        ended = true;
        resolveEnded(error);
        notify();
      },
      complete: () => {
        ended = true;
        resolveEnded(undefined);
        notify();
      },
    },
  );
  return {
    events,
    ended: endedPromise,
    isEnded: () => ended,
    unsubscribe,
    waitFor: (count, limitMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (events.length >= count) {
            cleanup();
            resolve(events);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`expected ${count} events, got ${events.length}: ${JSON.stringify(events)}`));
        }, limitMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}

/** Resolves with `promise`'s value, or rejects after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))]);
}

/** One value of a Prometheus metric (summed over label sets matching `labels`). */
export async function metric(baseUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const set = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) total += Number(match[3]);
  }
  return total;
}
