// Threat: a stolen access token outlives the session it belongs to. After logoutEverywhere, every
// gateway node must refuse the session's tokens within 5 s, though they have not expired.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { launch, startExtraGateway, type ExtraGateway, type Platform } from './launcher';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('two-gateway revocation test not run: REDIS_URL is not set (CI sets it)');

async function signIn(gql: string, email: string): Promise<string> {
  const password = 'revocation test passphrase';
  await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', { variables: { i: { email, password, name: 'R' } } });
  const res = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
    variables: { i: { email, password } },
  });
  return res.body.data!.login.accessToken;
}

/** One operation on an open graphql-ws client: its result, or its errors. */
function wsQuery(client: Client, query: string): Promise<unknown> {
  return new Promise((resolve) => {
    let result: unknown;
    client.subscribe(
      { query },
      { next: (value) => (result = value), error: (errors) => resolve({ errors }), complete: () => resolve(result) },
    );
  });
}

/** Milliseconds from now until `gql` refuses `token` with SESSION_REVOKED, polling every 25 ms. */
async function timeUntilRefused(gql: string, token: string, limitMs = 10_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    const res = await graphqlRequest(gql, '{ me { id } }', { token });
    if (errorCode(res) === 'UNAUTHENTICATED' && res.body.errors?.[0]?.extensions?.reason === 'SESSION_REVOKED') {
      return Date.now() - started;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return Infinity;
}

describe('revocation without Redis (the single-node default: gateways poll identity)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await launch({ env: { REDIS_URL: undefined } });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it("refuses a logged-out session's access token within 5 s, over HTTP and on an open WebSocket", async () => {
    const gql = `${platform.gatewayUrl}/graphql`;
    const token = await signIn(gql, 'poll@example.com');
    expect((await graphqlRequest(gql, '{ me { id } }', { token })).body.errors).toBeUndefined();
    const socket = createClient({
      url: gql.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      connectionParams: { Authorization: `Bearer ${token}` },
    });
    const closed = new Promise<number>((resolve) => socket.on('closed', (event) => resolve((event as { code: number }).code)));
    try {
      expect(await wsQuery(socket, '{ me { id } }')).toMatchObject({ data: { me: { id: expect.any(String) } } });
      await graphqlRequest(gql, 'mutation { logoutEverywhere }', { token });
      const ms = await timeUntilRefused(gql, token);
      console.log(`revocation reached the gateway by polling in ${ms} ms`);
      expect(ms).toBeLessThan(5_000);
      // The socket was opened with the now-ended session: its next operation is refused and it closes.
      expect(JSON.stringify(await wsQuery(socket, '{ me { id } }'))).toContain('UNAUTHENTICATED');
      expect(await closed).toBe(4403);
    } finally {
      await socket.dispose();
    }
  });
});

describe.skipIf(!REDIS_URL)('revocation with Redis and two gateway processes', () => {
  let platform: Platform;
  let second: ExtraGateway;
  let secondGql: string;

  beforeAll(async () => {
    // Polling every 10 minutes: only the Redis message can make the 5 s bound.
    platform = await launch({ env: { REDIS_URL, REVOCATION_POLL_MS: '600000' } });
    second = await startExtraGateway(platform, { REDIS_URL, REVOCATION_POLL_MS: '600000' });
    secondGql = second.url;
  });
  afterAll(async () => {
    second?.stop();
    await platform?.stop();
  });

  it('a logout through one gateway is enforced by the other within 5 s', async () => {
    const firstGql = `${platform.gatewayUrl}/graphql`;
    const token = await signIn(firstGql, 'redis@example.com');
    expect((await graphqlRequest(secondGql, '{ me { id } }', { token })).body.errors).toBeUndefined();
    await graphqlRequest(firstGql, 'mutation { logoutEverywhere }', { token });
    const ms = await timeUntilRefused(secondGql, token);
    console.log(`revocation reached the second gateway over Redis in ${ms} ms`);
    expect(ms).toBeLessThan(5_000);
    expect(errorCode(await graphqlRequest(firstGql, '{ me { id } }', { token }))).toBe('UNAUTHENTICATED');
  });
});
