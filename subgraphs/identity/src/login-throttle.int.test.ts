// Brute force against the real identity endpoint on PostgreSQL. Each case opens with its threat.
import { describe, expect, it } from 'vitest';
import { useIdentity } from './testing/identity-harness';

const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken } }';
const { identity, seed } = useIdentity();

const login = (email: string, password: string) => identity.call(LOGIN, { variables: { input: { email, password } } });
const codes = (responses: { body: { errors?: { extensions?: Record<string, unknown> }[] } }[]) =>
  responses.map((r) => r.body.errors?.[0]?.extensions?.code ?? 'OK');
const tally = (list: unknown[]) => list.reduce<Record<string, number>>((acc, c) => ({ ...acc, [String(c)]: (acc[String(c)] ?? 0) + 1 }), {});

describe('login throttling', () => {
  it('threat: parallel guesses racing the counter. Exactly 10 get checked, the rest and then the right password are refused', async () => {
    const user = await seed.user();
    const results = await Promise.all(Array.from({ length: 25 }, () => login(user.email, 'wrong guess!')));
    expect(tally(codes(results))).toEqual({ INVALID_CREDENTIALS: 10, TOO_MANY_REQUESTS: 15 });
    const locked = await login(user.email, user.password);
    expect(codes([locked])).toEqual(['TOO_MANY_REQUESTS']);
    expect(locked.body.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(800);
  });

  it('threat: guesses batched as aliases in one request. They buy no extra guesses past the limit', async () => {
    // Mutation fields run one after another and login is non-null, so the first failure ends the
    // request: each request costs one attempt, and the eleventh request is locked out.
    const user = await seed.user();
    const fields = Array.from({ length: 15 }, (_, i) => `a${i}: login(input: $input) { accessToken }`).join(' ');
    const batch = () =>
      identity.call(`mutation($input: LoginInput!) { ${fields} }`, { variables: { input: { email: user.email, password: 'wrong guess!' } } });
    const results = [];
    for (let i = 0; i < 11; i++) results.push(await batch());
    expect(results.map((r) => (r.body.errors ?? []).map((e) => e.extensions?.code).join())).toEqual([
      ...Array(10).fill('INVALID_CREDENTIALS'),
      'TOO_MANY_REQUESTS',
    ]);
  });

  it('threat: account enumeration through the lock. An unknown email locks exactly like a known one', async () => {
    const results = [];
    for (let i = 0; i < 11; i++) results.push(await login('nobody-at-all@example.com', 'wrong guess!'));
    expect(codes(results)).toEqual([...Array(10).fill('INVALID_CREDENTIALS'), 'TOO_MANY_REQUESTS']);
  });

  it('a successful login clears the failures, so a user who mistyped a few times is not locked later', async () => {
    const user = await seed.user();
    for (let i = 0; i < 6; i++) await login(user.email, 'typo typo');
    expect(codes([await login(user.email, user.password)])).toEqual(['OK']);
    for (let i = 0; i < 6; i++) await login(user.email, 'typo typo');
    expect(codes([await login(user.email, user.password)])).toEqual(['OK']);
  });
});
