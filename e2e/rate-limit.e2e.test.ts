// Threat: one client flooding the gateway (or one operation of it) at everyone else's expense,
// over HTTP, over WebSocket, or spread across gateway nodes. The real platform, real sockets.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlRequest, type GraphQLResponse } from '@citadel/kit/testing/graphql-client';
import { launch, startExtraGateway, type ExtraGateway, type Platform } from './launcher';
import { watch, wsClient } from './subscription-client';
import { tcpRelay, type TcpRelay } from '@citadel/kit/testing/tcp-relay';

const REDIS_URL = process.env.REDIS_URL;
/** Small enough to exhaust in a few requests; one token comes back every 6 s, far slower than the requests. */
const QUOTA = 10;
const SETTINGS = {
  RATE_LIMIT_PER_MINUTE: String(QUOTA),
  RATE_LIMIT_OPERATIONS: 'PingMe=2',
  // Each test poses as its own client address, so anonymous tests do not share one bucket.
  TRUSTED_PROXY_HOPS: '1',
  // Redis outlives a run: these buckets are this run's alone, on every node.
  COUNTER_KEY_PREFIX: `citadel-test:${randomUUID()}:`,
};

let platform: Platform;
let gql: string;
let addresses = 0;
/** A client address no other request of this file uses. */
const freshAddress = () => `198.51.100.${++addresses}`;

beforeAll(async () => {
  platform = await launch({ env: { ...SETTINGS, REDIS_URL } });
  gql = `${platform.gatewayUrl}/graphql`;
});
afterAll(async () => {
  await platform?.stop();
});

const PASSWORD = 'a perfectly long passphrase';
/** A new account's access token; registering and logging in come from an address of their own. */
async function newUser(): Promise<string> {
  const email = `rate-${randomUUID()}@example.com`;
  const headers = { 'x-forwarded-for': freshAddress() };
  await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', { variables: { i: { email, password: PASSWORD, name: 'Rate' } }, headers });
  const res = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { variables: { i: { email, password: PASSWORD } }, headers });
  return res.body.data!.login.accessToken;
}

type Send = () => Promise<GraphQLResponse>;

/** Sends until refused (at most `QUOTA + 5` times): the answers, in order. */
async function untilRefused(send: Send): Promise<GraphQLResponse[]> {
  const answers: GraphQLResponse[] = [];
  while (answers.length < QUOTA + 5) {
    const res = await send();
    answers.push(res);
    if (res.status === 429) break;
  }
  return answers;
}

function expectRefusedAfterQuota(answers: GraphQLResponse[]): GraphQLResponse {
  // Refill only ever adds tokens, so at least QUOTA pass; at 1 per 6 s, hardly more.
  expect(answers.slice(0, QUOTA).map((r) => r.status)).toEqual(Array(QUOTA).fill(200));
  const refused = answers.at(-1)!;
  expect(refused.status).toBe(429);
  return refused;
}

describe('per client over HTTP', () => {
  it('refuses a user past the quota with 429, Retry-After and TOO_MANY_REQUESTS; others on the same address go on', async () => {
    const [token, other] = [await newUser(), await newUser()];
    const address = freshAddress();
    const me = (t?: string) => graphqlRequest(gql, '{ me { id } }', { ...(t ? { token: t } : {}), headers: { 'x-forwarded-for': address } });
    const answers = await untilRefused(() => me(token));
    expect(answers[0]!.headers.get('ratelimit-policy')).toBe(`"client";q=${QUOTA};w=60`);
    expect(answers[0]!.headers.get('ratelimit')).toMatch(new RegExp(`^"client";r=${QUOTA - 1};t=\\d+$`));
    const refused = expectRefusedAfterQuota(answers);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60 / QUOTA);
    expect(refused.headers.get('ratelimit')).toMatch(/^"client";r=0;t=\d+$/);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors).toEqual([
      {
        message: expect.stringMatching(/^Rate limit exceeded \(10 requests per minute for this client\); retry in \d+ s$/),
        extensions: { code: 'TOO_MANY_REQUESTS', policies: ['client'], retryAfter },
      },
    ]);
    // Keyed by user, not address: another user, and anonymous callers, from the same address still pass.
    expect((await me(other)).status).toBe(200);
    expect((await me()).status).toBe(200);
  });

  it('keys anonymous callers by their address', async () => {
    const address = freshAddress();
    const ping = (from: string) => graphqlRequest(gql, '{ __typename }', { headers: { 'x-forwarded-for': from } });
    expectRefusedAfterQuota(await untilRefused(() => ping(address)));
    expect((await ping(freshAddress())).status).toBe(200);
  });

  it('limits a listed operation name per client on top of the client quota (RATE_LIMIT_OPERATIONS)', async () => {
    const token = await newUser();
    const run = (name: string) => graphqlRequest(gql, `query ${name} { me { id } }`, { token });
    expect((await run('PingMe')).status).toBe(200);
    const second = await run('PingMe');
    expect(second.headers.get('ratelimit-policy')).toBe(`"client";q=${QUOTA};w=60, "operation";q=2;w=60`);
    expect(second.headers.get('ratelimit')).toMatch(/^"client";r=8;t=\d+, "operation";r=0;t=\d+$/);
    const refused = await run('PingMe');
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS', policies: ['operation'] });
    expect((await run('SomethingElse')).status).toBe(200);
  });
});

describe('over WebSocket', () => {
  it('counts queries and subscriptions against the same bucket as HTTP', async () => {
    const token = await newUser();
    for (let i = 0; i < QUOTA - 2; i++) expect((await graphqlRequest(gql, '{ me { id } }', { token })).status).toBe(200);
    const client = wsClient(gql, token);
    try {
      const query = watch(client, '{ me { id } }');
      const [answer] = await query.waitFor(1);
      expect(answer!.errors).toBeUndefined();
      // The last token: the subscription starts (and fails on its own terms: no such workspace).
      const subscription = watch(client, 'subscription($w: ID!) { todoEvents(workspaceId: $w) { kind } }', { w: randomUUID() });
      const ended = await subscription.ended;
      const firstError = subscription.events[0]?.errors?.[0] ?? (Array.isArray(ended) ? ended[0] : undefined);
      expect(firstError?.extensions?.code).not.toBe('TOO_MANY_REQUESTS');

      const refusedQuery = watch(client, '{ me { id } }');
      const [refused] = await refusedQuery.waitFor(1);
      expect(refused!.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS', policies: ['client'] });
      const refusedSubscription = watch(client, 'subscription($w: ID!) { todoEvents(workspaceId: $w) { kind } }', { w: randomUUID() });
      const [refusedEvent] = await refusedSubscription.waitFor(1);
      expect(refusedEvent!.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
      expect(refusedEvent!.errors?.[0]?.extensions?.retryAfter).toBeGreaterThanOrEqual(1);
      await refusedSubscription.ended;
      expect((await graphqlRequest(gql, '{ me { id } }', { token })).status).toBe(429);
    } finally {
      await client.dispose();
    }
  });
});

describe('across gateway nodes', () => {
  const extras: ExtraGateway[] = [];
  let proxy: TcpRelay | undefined;
  /** GraphQL URLs: a second node on the same Redis, one without Redis, one reaching Redis through `proxy`. */
  let second: string, alone: string, proxied: string;
  const start = async (env: Record<string, string | undefined>) => {
    const gateway = await startExtraGateway(platform, { ...SETTINGS, ...env });
    extras.push(gateway);
    return gateway.url;
  };
  // Started side by side: each takes seconds to compile and load the supergraph.
  beforeAll(async () => {
    proxy = REDIS_URL ? await tcpRelay(REDIS_URL) : undefined;
    [second, alone, proxied] = await Promise.all([
      REDIS_URL ? start({ REDIS_URL }) : '',
      start({ REDIS_URL: undefined }),
      proxy ? start({ REDIS_URL: proxy.url }) : '',
    ]);
  });
  afterAll(async () => {
    await Promise.all(extras.map((g) => g.stopped()));
    await proxy?.cut();
  });

  it.skipIf(!REDIS_URL)('shares one bucket between two nodes through Redis', async () => {
    const token = await newUser();
    const answers: GraphQLResponse[] = [];
    const refusedBy = new Set<string>();
    // Alternating nodes: alone, each would let QUOTA through (2 × QUOTA in all).
    for (let i = 0; i < 2 * QUOTA && refusedBy.size < 2; i++) {
      const url = i % 2 ? second : gql;
      const res = await graphqlRequest(url, '{ me { id } }', { token });
      answers.push(res);
      if (res.status === 429) refusedBy.add(url);
    }
    expect(refusedBy).toEqual(new Set([gql, second]));
    const allowed = answers.filter((r) => r.status === 200).length;
    expect(allowed).toBeGreaterThanOrEqual(QUOTA);
    expect(allowed).toBeLessThan(QUOTA + 3);
  });

  it('limits in memory, per node, without REDIS_URL', async () => {
    const token = await newUser();
    expectRefusedAfterQuota(await untilRefused(() => graphqlRequest(alone, '{ me { id } }', { token })));
    // Nothing was shared: the platform's gateway still has this user's whole quota.
    const elsewhere = await graphqlRequest(gql, '{ me { id } }', { token });
    expect(elsewhere.headers.get('ratelimit')).toMatch(new RegExp(`^"client";r=${QUOTA - 1};`));
  });

  it.skipIf(!REDIS_URL)('keeps answering, limiting per node, while Redis is gone (fails open to memory), and shares again once it is back', async () => {
    const node = proxied;
    const token = await newUser();
    const me = () => graphqlRequest(node, '{ me { id } }', { token });
    const sharedBefore = await me();
    expect(sharedBefore.headers.get('ratelimit')).toMatch(new RegExp(`^"client";r=${QUOTA - 1};`));

    await proxy!.cut();
    // The node's own bucket is fresh: a whole quota passes, then it refuses; never a 500, never a wait on Redis.
    expectRefusedAfterQuota(await untilRefused(me));
    const metrics = await fetch(node.replace(/\/graphql$/, '/metrics')).then((r) => r.text());
    expect(Number(/^citadel_rate_limit_store_failures_total(?:{[^}]*})? (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(QUOTA);

    await proxy!.restore();
    // Back on the shared bucket, where only one token was taken (the node-local one is empty).
    let remaining = -1;
    for (const deadline = Date.now() + 15_000; remaining < QUOTA - 3 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 250));
      remaining = Number(/^"client";r=(\d+)/.exec((await me()).headers.get('ratelimit') ?? '')?.[1] ?? -1);
    }
    expect(remaining).toBeGreaterThanOrEqual(QUOTA - 3);
  });
});
