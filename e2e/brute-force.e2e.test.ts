// Brute force and floods through the gateway over HTTP, with login counters in Redis when
// REDIS_URL is set (as in CI) and in memory otherwise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { launch, type Platform } from './launcher';

const REDIS_URL = process.env.REDIS_URL;
let platform: Platform;
let gql: string;
const run = `${Date.now()}`; // Redis keeps counters across runs: fresh accounts every run

beforeAll(async () => {
  platform = await launch({
    env: {
      REDIS_URL,
      LOGIN_FAILURE_DELAY_MS: '10',
      PASSWORD_HASH_CONCURRENCY: '1',
      PASSWORD_HASH_QUEUE: '4',
    },
  });
  gql = `${platform.gatewayUrl}/graphql`;
});
afterAll(async () => {
  await platform?.stop();
});

const LOGIN = 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }';
const login = (email: string, password: string) => graphqlRequest(gql, LOGIN, { variables: { i: { email, password } } });
const code = (r: { body: { errors?: { extensions?: Record<string, unknown> }[] } }) => r.body.errors?.[0]?.extensions?.code ?? 'OK';

describe(`login brute force through the gateway (counters: ${REDIS_URL ? 'Redis' : 'memory'})`, () => {
  it('threat: parallel guesses. Exactly 10 are checked, everything after is refused, the right password too', async () => {
    const email = `target-${run}@example.com`;
    const password = 'the real passphrase';
    await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', { variables: { i: { email, password, name: 'T' } } });
    const results: string[] = [];
    // In waves within the hash queue's capacity, so only the throttle decides.
    for (let wave = 0; wave < 5; wave++) {
      const batch = await Promise.all(Array.from({ length: 5 }, () => login(email, 'wrong guess!')));
      results.push(...batch.map((r) => String(code(r))));
    }
    expect(results.filter((c) => c === 'INVALID_CREDENTIALS')).toHaveLength(10);
    expect(results.filter((c) => c === 'TOO_MANY_REQUESTS')).toHaveLength(15);
    expect(code(await login(email, password))).toBe('TOO_MANY_REQUESTS');
  });

  it('threat: guesses batched as a JSON array of operations. Batching is refused outright', async () => {
    const op = { query: LOGIN, variables: { i: { email: `batch-${run}@example.com`, password: 'x' } } };
    const res = await fetch(gql, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(Array.from({ length: 20 }, () => op)),
    });
    expect(res.status).toBe(400);
  });

  it('threat: a login flood exhausting memory. Beyond the hash queue, requests are refused at once and the service lives', async () => {
    const flood = await Promise.all(Array.from({ length: 40 }, (_, i) => login(`flood-${run}-${i}@example.com`, 'whatever pass')));
    const codes = flood.map((r) => String(code(r)));
    expect(codes.filter((c) => c === 'TOO_MANY_REQUESTS').length).toBeGreaterThan(0);
    expect(codes.every((c) => c === 'TOO_MANY_REQUESTS' || c === 'INVALID_CREDENTIALS')).toBe(true);
    expect((await fetch(`${platform.identityUrl}/health/ready`)).status).toBe(200);
  });
});

describe('hostile input and enumeration through the gateway', () => {
  it('threat: a 1 MB password to burn CPU. Over the body limit it is 413; just under, refused without hashing', async () => {
    const huge = await fetch(gql, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: LOGIN, variables: { i: { email: `huge-${run}@example.com`, password: 'p'.repeat(1_048_576) } } }),
    });
    expect(huge.status).toBe(413);
    const big = 'p'.repeat(900_000);
    const register = await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', {
      variables: { i: { email: `big-${run}@example.com`, password: big, name: 'B' } },
    });
    expect(register.body.errors?.[0]?.extensions).toMatchObject({ code: 'WEAK_PASSWORD', reason: 'TOO_LONG' });
    expect(code(await login(`big-${run}@example.com`, big))).toBe('INVALID_CREDENTIALS');
  });

  it('threat: account enumeration. Login and password reset answer known and unknown emails alike', async () => {
    const email = `enum-${run}@example.com`;
    await graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', {
      variables: { i: { email, password: 'an honest passphrase', name: 'E' } },
    });
    const known = await login(email, 'not the passphrase');
    const unknown = await login(`nobody-${run}@example.com`, 'not the passphrase');
    expect(known.body).toEqual(unknown.body);
    const reset = (e: string) => graphqlRequest(gql, 'mutation($e: String!) { requestPasswordReset(email: $e) }', { variables: { e } });
    expect((await reset(email)).body).toEqual((await reset(`nobody-${run}@example.com`)).body);
  });
});
