import type { AddressInfo } from 'node:net';
import type { Caller, InternalTokenMinter } from '@citadel/kit/auth';
import { createLogger } from '@citadel/kit/logger';
import { GraphQLError, GraphQLInt, GraphQLObjectType, GraphQLSchema, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { UpstreamConnections, type UpstreamRequest, type UpstreamSink } from './upstream';

/** A subgraph stand-in: `tick` events pushed by the test to every open subscription. */
const listeners = new Set<(n: number) => void>();
let subscribeMessages = 0;
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      tick: {
        type: GraphQLInt,
        resolve: (n: number) => n,
        subscribe: () => {
          const queue: number[] = [];
          let wake: (() => void) | undefined;
          const listener = (n: number) => {
            queue.push(n);
            wake?.();
          };
          listeners.add(listener);
          return {
            async next(): Promise<IteratorResult<number>> {
              while (queue.length === 0) await new Promise<void>((r) => (wake = r));
              return { value: queue.shift()!, done: false };
            },
            async return(): Promise<IteratorResult<number>> {
              listeners.delete(listener);
              return { value: undefined, done: true };
            },
            [Symbol.asyncIterator]() {
              return this;
            },
          };
        },
      },
    },
  }),
});

let wss: WebSocketServer;
let url: string;
const minter = { mint: async (caller: Caller) => `token-for-${caller.userId}` } as unknown as InternalTokenMinter;
const logger = createLogger('test', 'silent');

beforeAll(async () => {
  wss = new WebSocketServer({ port: 0, path: '/graphql' });
  await new Promise((r) => wss.once('listening', r));
  useServer(
    {
      schema,
      onSubscribe: (_ctx, _id, payload) => {
        subscribeMessages++;
        if (payload.variables?.refuse) return [new GraphQLError('Not a member', { extensions: { code: 'NOT_FOUND' } })];
        return undefined;
      },
    },
    wss,
  );
  url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}/graphql`;
});

afterAll(async () => {
  await new Promise((r) => wss.close(r));
});

const caller = (userId: string, sessionId = `s-${userId}`, permissions: string[] = []): Caller => ({ userId, sessionId, permissions, policies: [] });
const request = (who: Caller, variables: Record<string, unknown> = {}): UpstreamRequest => ({
  service: 'workspaces',
  url,
  query: 'subscription { tick }',
  operationName: undefined,
  variables,
  caller: who,
  client: { ip: '127.0.0.1', userAgent: 'test' },
  requestId: 'r',
  clientOperationName: null,
});

function recorder() {
  const events: ExecutionResult[] = [];
  const errors: (readonly GraphQLFormattedError[])[] = [];
  let completed = false;
  const sink: UpstreamSink = {
    next: (result) => events.push(result),
    error: (e) => errors.push(e),
    complete: () => (completed = true),
    lost: () => undefined,
  };
  return { sink, events, errors, completed: () => completed };
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  for (const stop = Date.now() + ms; !condition(); ) {
    if (Date.now() > stop) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const emit = (n: number) => {
  for (const listener of listeners) listener(n);
};

describe('UpstreamConnections', () => {
  it('shares one subscription on the subgraph between identical requests, and ends it with the last of them', async () => {
    const upstream = new UpstreamConnections(minter, logger);
    const before = subscribeMessages;
    const [a, b] = [recorder(), recorder()];
    const stopA = await upstream.subscribe(request(caller('u1')), a.sink);
    const stopB = await upstream.subscribe(request(caller('u1')), b.sink);
    await until(() => listeners.size === 1);
    expect(subscribeMessages - before).toBe(1);
    expect(upstream.counts().workspaces!.subscriptions).toBe(1);

    emit(1);
    await until(() => a.events.length === 1 && b.events.length === 1);
    expect(a.events[0]).toEqual({ data: { tick: 1 } });
    expect(b.events[0]).toBe(a.events[0]);

    stopA();
    emit(2);
    await until(() => b.events.length === 2);
    expect(a.events).toHaveLength(1);
    expect(listeners.size).toBe(1);

    stopB();
    await until(() => listeners.size === 0);
    expect(upstream.counts().workspaces!.subscriptions).toBe(0);
    await upstream.close();
  });

  it('keeps callers apart: another user, session or set of permissions gets a subscription of its own', async () => {
    const upstream = new UpstreamConnections(minter, logger);
    const before = subscribeMessages;
    const stops = await Promise.all(
      [caller('u1'), caller('u2'), caller('u1', 'other session'), caller('u1', 's-u1', ['identity.user.read'])].map((who) => upstream.subscribe(request(who), recorder().sink)),
    );
    await until(() => listeners.size === 4);
    expect(subscribeMessages - before).toBe(4);
    for (const stop of stops) stop();
    await until(() => listeners.size === 0);
    await upstream.close();
  });

  it("gives the subgraph's refusal to every subscriber sharing it; a later subscribe asks the subgraph again", async () => {
    const upstream = new UpstreamConnections(minter, logger);
    const before = subscribeMessages;
    const [a, b] = [recorder(), recorder()];
    await upstream.subscribe(request(caller('u3'), { refuse: true }), a.sink);
    await upstream.subscribe(request(caller('u3'), { refuse: true }), b.sink);
    await until(() => a.errors.length === 1 && b.errors.length === 1);
    expect(a.errors[0]!.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    expect(subscribeMessages - before).toBe(1);

    const c = recorder();
    await upstream.subscribe(request(caller('u3'), { refuse: true }), c.sink);
    await until(() => c.errors.length === 1);
    expect(subscribeMessages - before).toBe(2);
    expect(upstream.counts().workspaces!.subscriptions).toBe(0);
    await upstream.close();
  });
});
