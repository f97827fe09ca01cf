// Threat: one client (a user, or an address without a token) flooding the gateway, or hammering one
// operation, at the expense of everyone else. Token buckets per client and per operation name.
import { ApolloServer, HeaderMap } from '@apollo/server';
import { formatError } from '@citadel/kit/errors';
import { createLogger } from '@citadel/kit/logger';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { GatewayContext } from './context';
import {
  MemoryBucketStore,
  parseOperationQuotas,
  rateLimitHeaders,
  RateLimiter,
  RedisBucketStore,
  retryAfterSeconds,
  type Draw,
} from './rate-limit';

const logger = createLogger('test', 'silent');

/** A clock the test moves by hand, so no assertion depends on how fast the machine is. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const anonymous = { userId: null };
const here = { ip: '192.0.2.1' };

describe('MemoryBucketStore', () => {
  it('allows a full bucket at once, refuses the next, and refills evenly over the minute', async () => {
    const clock = manualClock();
    const store = new MemoryBucketStore(clock.now);
    const draw: Draw[] = [{ policy: 'client', key: 'a', quota: 3 }];
    const taken = [await store.take(draw), await store.take(draw), await store.take(draw)];
    expect(taken.map((v) => v.allowed)).toEqual([true, true, true]);
    const refused = await store.take(draw);
    expect(refused.allowed).toBe(false);
    expect(retryAfterSeconds(refused)).toBe(20); // 3 per minute: one token every 20 s
    clock.advance(19_999);
    expect((await store.take(draw)).allowed).toBe(false);
    clock.advance(1);
    expect((await store.take(draw)).allowed).toBe(true);
    expect((await store.take(draw)).allowed).toBe(false);
  });

  it('takes from no bucket when one of them is empty, so a refused request costs nothing', async () => {
    const clock = manualClock();
    const store = new MemoryBucketStore(clock.now);
    const client: Draw = { policy: 'client', key: 'c', quota: 10 };
    const operation: Draw = { policy: 'operation', key: 'c:op:login', quota: 1 };
    expect((await store.take([client, operation])).allowed).toBe(true);
    const refused = await store.take([client, operation]);
    expect(refused.allowed).toBe(false);
    expect(refused.buckets.map((b) => [b.policy, b.tokens])).toEqual([
      ['client', 9],
      ['operation', 0],
    ]);
    expect((await store.take([client])).buckets[0]!.tokens).toBe(8);
  });

  it('forgets buckets that have been full for a minute, so idle clients cost no memory', async () => {
    const clock = manualClock();
    const store = new MemoryBucketStore(clock.now);
    for (let i = 0; i < 100; i++) await store.take([{ policy: 'client', key: `k${i}`, quota: 5 }]);
    expect(store.size).toBe(100);
    clock.advance(60_001);
    await store.take([{ policy: 'client', key: 'fresh', quota: 5 }]);
    expect(store.size).toBe(1);
  });
});

describe('RateLimiter', () => {
  const limiter = (options: { perMinute?: number; operations?: Record<string, number> } = {}) =>
    new RateLimiter({ perMinute: options.perMinute ?? 2, operations: options.operations ?? {}, logger, store: new MemoryBucketStore(manualClock().now) });

  it('gives each user their own bucket and every anonymous request from one address a shared one', async () => {
    const rl = limiter();
    for (let i = 0; i < 2; i++) expect((await rl.check({ userId: 'u1' }, here, 'Q')).allowed).toBe(true);
    expect((await rl.check({ userId: 'u1' }, here, 'Q')).allowed).toBe(false);
    // Same address, different identity: not affected by u1.
    expect((await rl.check({ userId: 'u2' }, here, 'Q')).allowed).toBe(true);
    expect((await rl.check(anonymous, here, 'Q')).allowed).toBe(true);
    expect((await rl.check(anonymous, here, null)).allowed).toBe(true);
    expect((await rl.check(anonymous, here, 'Other')).allowed).toBe(false);
    expect((await rl.check(anonymous, { ip: '192.0.2.2' }, 'Q')).allowed).toBe(true);
  });

  it('limits a listed operation per client on top of the client limit, and no other operation', async () => {
    const rl = limiter({ perMinute: 100, operations: { login: 2 } });
    const verdicts = [];
    for (let i = 0; i < 3; i++) verdicts.push(await rl.check(anonymous, here, 'login'));
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, false]);
    expect(verdicts[2]!.buckets.map((b) => b.policy)).toEqual(['client', 'operation']);
    expect((await rl.check(anonymous, here, 'Login')).allowed).toBe(true);
    expect((await rl.check(anonymous, { ip: '192.0.2.9' }, 'login')).allowed).toBe(true);
  });

  it('counts refusals by policy on /metrics', async () => {
    const rl = limiter({ perMinute: 1, operations: { login: 5 } });
    const registry = new Registry();
    rl.useMetrics(registry);
    await rl.check(anonymous, here, 'login');
    await rl.check(anonymous, here, 'login');
    expect(await registry.getSingleMetricAsString('citadel_rate_limited_total')).toContain('citadel_rate_limited_total{policy="client"} 1');
  });

  it('refuses quotas that are not positive integers when it is built', () => {
    expect(() => limiter({ perMinute: 0 })).toThrow(/perMinute must be a positive integer/);
    expect(() => limiter({ operations: { login: 1.5 } })).toThrow(/operations.login/);
  });
});

describe('RateLimit headers (draft-ietf-httpapi-ratelimit-headers)', () => {
  it('name each policy with its quota and window, and what is left and when it is full again', () => {
    expect(
      rateLimitHeaders({
        allowed: true,
        buckets: [
          { policy: 'client', quota: 600, tokens: 299.5 },
          { policy: 'operation', quota: 20, tokens: 19 },
        ],
      }),
    ).toEqual([
      ['ratelimit-policy', '"client";q=600;w=60, "operation";q=20;w=60'],
      ['ratelimit', '"client";r=299;t=31, "operation";r=19;t=3'],
    ]);
  });

  it('add Retry-After, in whole seconds until every exhausted bucket has a token again', () => {
    const headers = rateLimitHeaders({
      allowed: false,
      buckets: [
        { policy: 'client', quota: 600, tokens: 0.5 },
        { policy: 'operation', quota: 6, tokens: 0.75 },
      ],
    });
    // client: half a token at 10 per second is 50 ms; operation: a quarter at one per 10 s is 2.5 s.
    expect(headers).toContainEqual(['retry-after', '3']);
    expect(headers).toContainEqual(['ratelimit', '"client";r=0;t=60, "operation";r=0;t=53']);
  });
});

describe('parseOperationQuotas (RATE_LIMIT_OPERATIONS)', () => {
  it('reads name=quota pairs', () => {
    expect(parseOperationQuotas(' login = 20, register=5 ,')).toEqual({ quotas: { login: 20, register: 5 } });
    expect(parseOperationQuotas('')).toEqual({ quotas: {} });
  });

  it('names every bad entry', () => {
    expect(parseOperationQuotas('login=0,register=x,a-b=3,c=1=2,login=0,d=4,d=5')).toEqual({
      problems: [
        '"login=0" is not <operation name>=<requests per minute>',
        '"register=x" is not <operation name>=<requests per minute>',
        '"a-b=3" is not <operation name>=<requests per minute>',
        '"c=1=2" is not <operation name>=<requests per minute>',
        '"login=0" is not <operation name>=<requests per minute>',
        'operation d is listed twice',
      ],
    });
  });

  it('keeps names like __proto__ as plain entries', () => {
    const parsed = parseOperationQuotas('__proto__=3,toString=4');
    expect(parsed).toEqual({ quotas: { ['__proto__']: 3, toString: 4 } });
    expect(Object.getPrototypeOf('quotas' in parsed ? parsed.quotas : null)).toBe(Object.prototype);
  });
});

describe('the Apollo plugin', () => {
  async function server(perMinute: number, operations: Record<string, number> = {}) {
    const rl = new RateLimiter({ perMinute, operations, logger, store: new MemoryBucketStore(manualClock().now) });
    const apollo = new ApolloServer<GatewayContext>({
      typeDefs: 'type Query { hello: String } type Mutation { login: String }',
      resolvers: { Query: { hello: () => 'hi' }, Mutation: { login: () => 'token' } },
      formatError,
      plugins: [rl.plugin()],
    });
    await apollo.start();
    const context = async (): Promise<GatewayContext> => ({ caller: { userId: null, sessionId: null, permissions: [], policies: [] }, client: { ip: '192.0.2.1', userAgent: null }, requestId: 'r', logger });
    const post = async (query: string) => {
      const res = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: 'POST', headers: new HeaderMap([['content-type', 'application/json']]), search: '', body: { query } },
        context,
      });
      return { status: res.status ?? 200, headers: Object.fromEntries(res.headers), body: JSON.parse(res.body.kind === 'complete' ? res.body.string : '') as unknown };
    };
    return { apollo, post, context };
  }

  it('answers over the limit with 429, Retry-After and TOO_MANY_REQUESTS, and RateLimit headers on every answer', async () => {
    const { apollo, post } = await server(2);
    const first = await post('query Q { hello }');
    expect(first.status).toBe(200);
    expect(first.headers).toMatchObject({ 'ratelimit-policy': '"client";q=2;w=60', ratelimit: '"client";r=1;t=30' });
    await post('query Q { hello }');
    const refused = await post('query Q { hello }');
    expect(refused.status).toBe(429);
    expect(refused.headers).toMatchObject({ 'retry-after': '30', ratelimit: '"client";r=0;t=60' });
    expect(refused.body).toEqual({
      errors: [
        {
          message: 'Rate limit exceeded (2 requests per minute for this client); retry in 30 s',
          extensions: { code: 'TOO_MANY_REQUESTS', policies: ['client'], retryAfter: 30 },
        },
      ],
    });
    await apollo.stop();
  });

  it('applies an operation quota to the operation resolved from the document', async () => {
    const { apollo, post } = await server(100, { login: 1 });
    expect((await post('mutation login { login }')).status).toBe(200);
    const refused = await post('mutation login { login }');
    expect(refused.status).toBe(429);
    expect(refused.headers['ratelimit-policy']).toBe('"client";q=100;w=60, "operation";q=1;w=60');
    expect((await post('query Q { hello }')).status).toBe(200);
    await apollo.stop();
  });

  it('counts operations run without HTTP (graphql-ws queries) against the same bucket', async () => {
    const { apollo, post, context } = await server(1);
    expect((await post('{ hello }')).status).toBe(200);
    const res = await apollo.executeOperation({ query: '{ hello }' }, { contextValue: await context() });
    expect(res.body.kind === 'single' && res.body.singleResult.errors?.[0]?.extensions?.code).toBe('TOO_MANY_REQUESTS');
    await apollo.stop();
  });
});

describe('RedisBucketStore when Redis does not answer', () => {
  it('serves every request from the node-local fallback at once, and reports the failure', async () => {
    const clock = manualClock();
    const failures: unknown[] = [];
    // Port 1: nothing listens, so every command fails without waiting for a timeout.
    const store = new RedisBucketStore({ url: 'redis://127.0.0.1:1', prefix: 'test:', fallback: new MemoryBucketStore(clock.now), onFailure: (e) => failures.push(e) });
    try {
      const draw: Draw[] = [{ policy: 'client', key: 'k', quota: 2 }];
      const started = Date.now();
      const verdicts = [await store.take(draw), await store.take(draw), await store.take(draw)];
      expect(verdicts.map((v) => v.allowed)).toEqual([true, true, false]);
      expect(failures).toHaveLength(3);
      expect(Date.now() - started).toBeLessThan(5_000); // not held up by retries or a queue
    } finally {
      await store.close();
    }
  });
});
