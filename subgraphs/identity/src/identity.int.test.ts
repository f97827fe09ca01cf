// Identity against real PostgreSQL, through its real HTTP endpoint, called as the gateway calls it.
import { createHash } from 'node:crypto';
import argon2 from 'argon2';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { withClient } from '@citadel/kit/testing/database';
import { errorCode } from '@citadel/kit/testing/graphql-client';
import { JWT, useIdentity } from './testing/identity-harness';

const REGISTER = 'mutation($input: RegisterInput!) { register(input: $input) { id email name createdAt } }';
const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken expiresIn tokenType user { id } } }';
const REFRESH = 'mutation($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }';
const LOGOUT = 'mutation($t: String!) { logout(refreshToken: $t) }';

// Issue 2's contract: a taken address is EMAIL_TAKEN (REGISTRATION_REVEALS_TAKEN_EMAIL=true).
const { identity, seed } = useIdentity({ revealTakenEmail: true });

const register = (input: Record<string, string>) => identity.call(REGISTER, { variables: { input } });

describe('register', () => {
  it('creates an account with a UUID id, keeping the local part and lower-casing the domain', async () => {
    const res = await register({ email: '  Grace.Hopper@Navy.MIL ', password: 'a fine long passphrase', name: ' Grace ' });
    expect(res.body.errors).toBeUndefined();
    const user = (res.body.data as { register: Record<string, string> }).register;
    expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(user.email).toBe('Grace.Hopper@navy.mil');
    expect(user.name).toBe('Grace');
    expect(new Date(user.createdAt!).getTime()).toBeGreaterThan(0);
  });

  it('refuses the same email in another case with EMAIL_TAKEN', async () => {
    await register({ email: 'case@example.com', password: 'a fine long passphrase', name: 'A' });
    const again = await register({ email: 'CASE@Example.com', password: 'another passphrase', name: 'B' });
    expect(errorCode(again)).toBe('EMAIL_TAKEN');
  });

  it('treats NFC and NFD spellings of one address as the same account', async () => {
    await register({ email: 'jos\u00e9@example.com', password: 'a fine long passphrase', name: 'A' });
    const again = await register({ email: 'jose\u0301@example.com', password: 'a fine long passphrase', name: 'B' });
    expect(errorCode(again)).toBe('EMAIL_TAKEN');
  });

  it.each([
    ['too short', 'short1', 'TOO_SHORT'],
    ['too long', 'x'.repeat(129), 'TOO_LONG'],
    ['in the common list', 'password123', 'COMMON'],
    ['common in another case', 'PassWord1', 'COMMON'],
    ['equal to the email', 'weak@example.com', 'MATCHES_EMAIL'],
  ])('refuses a password %s with WEAK_PASSWORD', async (_label, password, reason) => {
    const res = await register({ email: 'weak@example.com', password, name: 'W' });
    expect(errorCode(res)).toBe('WEAK_PASSWORD');
    expect(res.body.errors?.[0]?.extensions?.reason).toBe(reason);
  });

  it('accepts 8 and 128 characters, with no composition rules', async () => {
    expect((await register({ email: 'eight@example.com', password: 'zqxjvkwp', name: 'E' })).body.errors).toBeUndefined();
    const long = await register({ email: 'long@example.com', password: 'y'.repeat(128), name: 'L' });
    expect(long.body.errors).toBeUndefined();
  });

  it('refuses a malformed email with BAD_USER_INPUT', async () => {
    const res = await register({ email: 'not-an-email', password: 'a fine long passphrase', name: 'N' });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
  });

  it('stores an argon2id PHC string with m=19456, t=2, p=1, never the password', async () => {
    const { email, password } = await seed.user();
    const rows = await withClient(identity.dbUrl, (c) =>
      c.query<{ password_hash: string }>('select password_hash from identity.users where email = $1', [email]),
    );
    const hash = rows.rows[0]!.password_hash;
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(hash).not.toContain(password);
  });
});

describe('login', () => {
  it('returns an EdDSA access token with kid and the documented claims, valid for 15 minutes', async () => {
    const { email, password, id } = await seed.user();
    const res = await identity.call(LOGIN, { variables: { input: { email: email.toUpperCase(), password } } });
    const login = (res.body.data as { login: { accessToken: string; expiresIn: number; tokenType: string } }).login;
    expect(login.expiresIn).toBe(900);
    expect(login.tokenType).toBe('Bearer');
    const header = decodeProtectedHeader(login.accessToken);
    expect(header).toMatchObject({ alg: 'EdDSA', kid: identity.identityKey.kid });
    const { payload } = await jwtVerify(login.accessToken, createLocalJWKSet(identity.identityKey.jwks), {
      issuer: JWT.issuer,
      audience: JWT.audience,
    });
    expect(payload.sub).toBe(id);
    expect(payload.sid).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it('re-hashes a password stored with older argon2 parameters at the next successful login', async () => {
    const { email, password, id } = await seed.user();
    const weak = await argon2.hash(password, { type: argon2.argon2id, memoryCost: 8192, timeCost: 1, parallelism: 1 });
    await withClient(identity.dbUrl, (c) => c.query('update identity.users set password_hash = $1 where id = $2', [weak, id]));
    expect((await identity.call(LOGIN, { variables: { input: { email, password } } })).body.errors).toBeUndefined();
    const rows = await withClient(identity.dbUrl, (c) => c.query<{ password_hash: string }>('select password_hash from identity.users where id = $1', [id]));
    expect(rows.rows[0]!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('answers a wrong password and an unknown email with the same code and message', async () => {
    const { email } = await seed.user();
    const wrong = await identity.call(LOGIN, { variables: { input: { email, password: 'not the password' } } });
    const unknown = await identity.call(LOGIN, { variables: { input: { email: 'nobody@example.com', password: 'x' } } });
    expect(errorCode(wrong)).toBe('INVALID_CREDENTIALS');
    expect(errorCode(unknown)).toBe('INVALID_CREDENTIALS');
    expect(wrong.body.errors?.[0]?.message).toBe(unknown.body.errors?.[0]?.message);
  });

  it('resolves me for the signed-in caller and refuses an anonymous one', async () => {
    const user = await seed.user();
    const sid = (await jwtVerify(user.accessToken, createLocalJWKSet(identity.identityKey.jwks))).payload.sid as string;
    const me = await identity.call('{ me { id email } }', { caller: { userId: user.id, sessionId: sid, permissions: [], policies: [] } });
    expect(me.body.data).toEqual({ me: { id: user.id, email: user.email } });
    expect(errorCode(await identity.call('{ me { id } }'))).toBe('UNAUTHENTICATED');
  });
});

describe('refresh tokens', () => {
  it('are stored only as SHA-256', async () => {
    const { refreshToken } = await seed.user();
    const sha = createHash('sha256').update(refreshToken).digest('hex');
    const rows = await withClient(identity.dbUrl, (c) =>
      c.query<{ token_hash: string }>('select token_hash from identity.refresh_tokens where token_hash = $1', [sha]),
    );
    expect(rows.rowCount).toBe(1);
    const raw = await withClient(identity.dbUrl, (c) =>
      c.query('select 1 from identity.refresh_tokens where token_hash = $1', [refreshToken]),
    );
    expect(raw.rowCount).toBe(0);
  });

  it('rotate, and two tabs refreshing with one token get the same successor, not a logout', async () => {
    const { refreshToken } = await seed.user();
    const first = await identity.call<{ refreshToken: { refreshToken: string } }>(REFRESH, { variables: { t: refreshToken } });
    const rotated = first.body.data!.refreshToken.refreshToken;
    expect(rotated).not.toBe(refreshToken);
    const secondTab = await identity.call<{ refreshToken: { refreshToken: string } }>(REFRESH, { variables: { t: refreshToken } });
    expect(secondTab.body.data!.refreshToken.refreshToken).toBe(rotated);
    expect((await identity.call(REFRESH, { variables: { t: rotated } })).body.errors).toBeUndefined();
  });

  it('racing in parallel with one token all get the one successor, and only one is stored', async () => {
    const { refreshToken } = await seed.user();
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => identity.call<{ refreshToken: { refreshToken: string } }>(REFRESH, { variables: { t: refreshToken } })),
    );
    const successors = new Set(results.map((r) => r.body.data?.refreshToken.refreshToken));
    expect(successors.size).toBe(1);
    expect([...successors][0]).toEqual(expect.any(String));
    const children = await withClient(identity.dbUrl, (c) =>
      c.query<{ n: number }>(
        'select count(*)::int as n from identity.refresh_tokens child join identity.refresh_tokens parent on child.parent_id = parent.id where parent.token_hash = $1',
        [createHash('sha256').update(refreshToken).digest('hex')],
      ),
    );
    expect(children.rows[0]!.n).toBe(1);
  });

  it('used again after the grace window end the whole family (reuse detection)', async () => {
    const { refreshToken } = await seed.user();
    const rotated = (await identity.call<{ refreshToken: { refreshToken: string } }>(REFRESH, { variables: { t: refreshToken } }))
      .body.data!.refreshToken.refreshToken;
    const hash = createHash('sha256').update(refreshToken).digest('hex');
    await withClient(identity.dbUrl, (c) =>
      c.query(`update identity.refresh_tokens set used_at = now() - interval '11 seconds' where token_hash = $1`, [hash]),
    );
    expect(errorCode(await identity.call(REFRESH, { variables: { t: refreshToken } }))).toBe('INVALID_REFRESH_TOKEN');
    // The replay means the token leaked: the rotated one dies with its session.
    expect(errorCode(await identity.call(REFRESH, { variables: { t: rotated } }))).toBe('INVALID_REFRESH_TOKEN');
  });

  it('used again after its successor was itself rotated end the family, even within the window', async () => {
    const { refreshToken } = await seed.user();
    const t1 = (await identity.call<{ refreshToken: { refreshToken: string } }>(REFRESH, { variables: { t: refreshToken } })).body
      .data!.refreshToken.refreshToken;
    const t2 = (await identity.call<{ refreshToken: { refreshToken: string } }>(REFRESH, { variables: { t: t1 } })).body.data!
      .refreshToken.refreshToken;
    expect(errorCode(await identity.call(REFRESH, { variables: { t: refreshToken } }))).toBe('INVALID_REFRESH_TOKEN');
    expect(errorCode(await identity.call(REFRESH, { variables: { t: t2 } }))).toBe('INVALID_REFRESH_TOKEN');
  });

  it('stop working after logout', async () => {
    const { refreshToken } = await seed.user();
    const out = await identity.call(LOGOUT, { variables: { t: refreshToken } });
    expect(out.body.data).toEqual({ logout: true });
    expect(errorCode(await identity.call(REFRESH, { variables: { t: refreshToken } }))).toBe('INVALID_REFRESH_TOKEN');
    expect(errorCode(await identity.call(LOGOUT, { variables: { t: refreshToken } }))).toBe('INVALID_REFRESH_TOKEN');
  });

  it('refuse an unknown token', async () => {
    expect(errorCode(await identity.call(REFRESH, { variables: { t: 'nope' } }))).toBe('INVALID_REFRESH_TOKEN');
    expect(errorCode(await identity.call(LOGOUT, { variables: { t: 'nope' } }))).toBe('INVALID_REFRESH_TOKEN');
  });
});

describe('sessions', () => {
  const asUser = async (user: { id: string; accessToken: string }) => {
    const { payload } = await jwtVerify(user.accessToken, createLocalJWKSet(identity.identityKey.jwks));
    return { userId: user.id, sessionId: payload.sid as string, permissions: [], policies: [] };
  };

  it('lists each sign-in with its user agent, IP and which one is current', async () => {
    const user = await seed.user();
    await identity.call(LOGIN, { variables: { input: { email: user.email, password: user.password } } });
    const caller = await asUser(user);
    const res = await identity.call<{ mySessions: { id: string; ip: string; userAgent: string; current: boolean }[] }>(
      '{ mySessions { id ip userAgent current createdAt lastUsedAt } }',
      { caller },
    );
    const sessions = res.body.data!.mySessions;
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s) => s.current).map((s) => s.id)).toEqual([caller.sessionId]);
    expect(sessions[0]).toMatchObject({ ip: '203.0.113.7', userAgent: 'harness/1.0' });
  });

  it('revokeSession ends one of your own sessions and its refresh token', async () => {
    const user = await seed.user();
    const caller = await asUser(user);
    const res = await identity.call('mutation($id: ID!) { revokeSession(id: $id) }', { caller, variables: { id: caller.sessionId } });
    expect(res.body.data).toEqual({ revokeSession: true });
    expect(errorCode(await identity.call(REFRESH, { variables: { t: user.refreshToken } }))).toBe('INVALID_REFRESH_TOKEN');
  });

  it("revokeSession cannot touch another user's session: NOT_FOUND, and it stays alive", async () => {
    const victim = await seed.user();
    const attacker = await seed.user();
    const victimSession = (await asUser(victim)).sessionId;
    const res = await identity.call('mutation($id: ID!) { revokeSession(id: $id) }', {
      caller: await asUser(attacker),
      variables: { id: victimSession },
    });
    expect(errorCode(res)).toBe('NOT_FOUND');
    expect((await identity.call(REFRESH, { variables: { t: victim.refreshToken } })).body.errors).toBeUndefined();
  });

  it('logoutEverywhere ends every session of the user', async () => {
    const user = await seed.user();
    const second = await identity.call<{ login: { refreshToken: string } }>(LOGIN, {
      variables: { input: { email: user.email, password: user.password } },
    });
    const res = await identity.call('mutation { logoutEverywhere }', { caller: await asUser(user) });
    expect(res.body.data).toEqual({ logoutEverywhere: 2 });
    for (const t of [user.refreshToken, second.body.data!.login.refreshToken]) {
      expect(errorCode(await identity.call(REFRESH, { variables: { t } }))).toBe('INVALID_REFRESH_TOKEN');
    }
  });

  it('ending publishes the session ids for the gateways, and lists them for catch-up', async () => {
    const user = await seed.user();
    const caller = await asUser(user);
    const published: unknown[] = [];
    const stop = await identity.pubsub.subscribe('identity.sessions.revoked', (m) => published.push(m));
    const before = new Date(Date.now() - 1000).toISOString();
    await identity.call('mutation { logoutEverywhere }', { caller });
    await expect.poll(() => published).toContainEqual({ userId: user.id, sessionIds: [caller.sessionId], reason: 'LOGOUT_EVERYWHERE' });
    await stop();
    const base = identity.url.replace('/graphql', '');
    const denied = await fetch(`${base}/internal/revoked-sessions?since=${before}`);
    expect(denied.status).toBe(401);
    const page = await fetch(`${base}/internal/revoked-sessions?since=${before}`, {
      headers: { authorization: `Bearer ${await identity.internalToken()}` },
    });
    const body = (await page.json()) as { sessions: { id: string }[] };
    expect(body.sessions.map((s) => s.id)).toContain(caller.sessionId);
  });

  it('page forward through many revocations sharing one instant (no endless first page)', async () => {
    const user = await seed.user();
    for (let i = 0; i < 2; i++) await identity.call(LOGIN, { variables: { input: { email: user.email, password: user.password } } });
    const since = new Date(Date.now() - 1000).toISOString();
    await identity.call('mutation { logoutEverywhere }', { caller: await asUser(user) }); // 3 sessions, one UPDATE
    const base = identity.url.replace('/graphql', '');
    const headers = { authorization: `Bearer ${await identity.internalToken()}` };
    const seen: string[] = [];
    let query = `since=${since}&limit=1`;
    for (let page = 0; page < 50; page++) {
      const body = (await (await fetch(`${base}/internal/revoked-sessions?${query}`, { headers })).json()) as {
        sessions: { id: string; revokedAt: string }[];
        more: boolean;
      };
      seen.push(...body.sessions.map((s) => s.id));
      const last = body.sessions.at(-1);
      if (!body.more || !last) break;
      query = `since=${last.revokedAt}&after=${last.id}&limit=1`;
    }
    expect(new Set(seen).size).toBe(seen.length);
    const mine = await withClient(identity.dbUrl, (c) =>
      c.query<{ id: string }>('select id from identity.sessions where user_id = $1', [user.id]),
    );
    expect(seen).toEqual(expect.arrayContaining(mine.rows.map((r) => r.id)));
  });

  it('need a signed-in caller', async () => {
    expect(errorCode(await identity.call('{ mySessions { id } }'))).toBe('UNAUTHENTICATED');
    expect(errorCode(await identity.call('mutation { logoutEverywhere }'))).toBe('UNAUTHENTICATED');
  });
});

describe('federation', () => {
  it('resolves User references in one batch, unknown and malformed ids as null', async () => {
    const a = await seed.user();
    const b = await seed.user();
    const res = await identity.call<{ _entities: ({ id: string; email: string } | null)[] }>(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }',
      {
        variables: {
          r: [
            { __typename: 'User', id: a.id },
            { __typename: 'User', id: '00000000-0000-4000-8000-000000000000' },
            { __typename: 'User', id: 'not-a-uuid' },
            { __typename: 'User', id: b.id },
          ],
        },
      },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!._entities).toEqual([{ id: a.id, email: a.email }, null, null, { id: b.id, email: b.email }]);
  });
});

describe('the endpoint is closed to anything but the gateway', () => {
  it('answers 401 with a JSON error to a request with no internal token', async () => {
    const res = await fetch(identity.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
  });

  it('answers 401 to a user access token presented as if it were an internal one', async () => {
    const { accessToken } = await seed.user();
    const res = await fetch(identity.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(res.status).toBe(401);
  });
});
