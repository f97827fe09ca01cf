// The whole platform started by the launcher on embedded PostgreSQL, driven over HTTP.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signingKeyFromPem, type SigningKey } from '@citadel/kit/keys';
import { errorCode, graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { REPO_ROOT } from '@citadel/kit/paths';
import { freePort } from '@citadel/kit/testing/ports';
import { launch, type Platform } from './launcher';

let platform: Platform;
let gql: string;
const ALLOWED_ORIGIN = 'http://app.citadel.test';

beforeAll(async () => {
  platform = await launch({ env: { CORS_ORIGINS: ALLOWED_ORIGIN, MAX_DEPTH: '2' } });
  gql = `${platform.gatewayUrl}/graphql`;
});
afterAll(async () => {
  await platform?.stop();
});

const register = (email: string, password = 'a perfectly long passphrase') =>
  graphqlRequest(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id email } }', {
    variables: { i: { email, password, name: 'E2E' } },
  });
const login = async (email: string, password = 'a perfectly long passphrase') => {
  const res = await graphqlRequest<{ login: { accessToken: string; refreshToken: string } }>(
    gql,
    'mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken } }',
    { variables: { i: { email, password } } },
  );
  return res.body.data!.login;
};

describe('a new user, through the gateway', () => {
  it('registers, logs in and reads me', async () => {
    const reg = await register('new.user@Example.com');
    expect(reg.body.errors).toBeUndefined();
    const { id } = (reg.body.data as { register: { id: string } }).register;
    const tokens = await login('NEW.USER@example.com');
    const me = await graphqlRequest(gql, '{ me { id email name } }', { token: tokens.accessToken });
    expect(me.body).toEqual({ data: { me: { id, email: 'new.user@example.com', name: 'E2E' } } });
  });

  it('gets the subgraph error codes unchanged', async () => {
    expect(errorCode(await register('weak@example.com', 'password'))).toBe('WEAK_PASSWORD');
  });

  it('cannot tell from sign-up whether an address has an account', async () => {
    await register('twice@example.com');
    const again = await register('TWICE@example.com');
    expect(again.body.errors).toBeUndefined();
    expect((again.body.data as { register: { email: string } }).register.email).toBe('TWICE@example.com');
  });
});

describe('authentication at the gateway', () => {
  let identityKey: SigningKey;
  let valid: string;

  beforeAll(async () => {
    identityKey = await signingKeyFromPem(readFileSync(join(platform.dataDir, 'keys', 'identity.ed25519.pem'), 'utf8'));
    await register('tokens@example.com');
    valid = (await login('tokens@example.com')).accessToken;
  });

  const me = (token: string) => graphqlRequest(gql, '{ me { id } }', { token });
  const expectRefused = async (token: string) => {
    const res = await me(token);
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
  };

  it('refuses a tampered token', async () => {
    const [h, p, s] = valid.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    claims.sub = '00000000-0000-4000-8000-000000000000';
    await expectRefused(`${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`);
  });

  it('refuses an expired token signed with the real key', async () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    const expired = await new SignJWT({ sid: 'x' })
      .setProtectedHeader({ alg: 'EdDSA', kid: identityKey.kid, typ: 'at+jwt' })
      .setSubject('someone')
      .setIssuer('citadel-identity')
      .setAudience('citadel')
      .setIssuedAt(past - 900)
      .setExpirationTime(past)
      .sign(identityKey.privateKey);
    await expectRefused(expired);
  });

  it('refuses alg: none', async () => {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(`${enc({ alg: 'none' })}.${enc({ sub: 'x', iss: 'citadel-identity', aud: 'citadel', iat: now, exp: now + 60 })}.`);
  });

  it('refuses a token whose kid identity never published', async () => {
    const stranger = await generateSigningKey();
    const forged = await new SignJWT({ sid: 'x' })
      .setProtectedHeader({ alg: 'EdDSA', kid: stranger.kid, typ: 'at+jwt' })
      .setSubject('someone')
      .setIssuer('citadel-identity')
      .setAudience('citadel')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(stranger.privateKey);
    await expectRefused(forged);
  });

  it('keeps a valid token working', async () => {
    expect((await me(valid)).body.errors).toBeUndefined();
  });
});

describe('subgraphs are closed to direct callers', () => {
  it('answers 401 with a JSON error to a request with no internal token', async () => {
    const res = await graphqlRequest(`${platform.identityUrl}/graphql`, '{ me { id } }');
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
  });

  it('answers 401 to a user access token sent straight to the subgraph', async () => {
    await register('direct@example.com');
    const { accessToken } = await login('direct@example.com');
    const res = await graphqlRequest(`${platform.identityUrl}/graphql`, '{ me { id } }', { token: accessToken });
    expect(res.status).toBe(401);
  });
});

describe('request limits', () => {
  it('answers an oversized body with 413 and a JSON error', async () => {
    const res = await fetch(gql, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ __typename } # ${'x'.repeat(1_100_000)}` }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
  });

  it('refuses too deep a query with MAX_DEPTH_LIMIT, before anything runs', async () => {
    // This platform runs with MAX_DEPTH=2; login { user { id } } is depth 3.
    const res = await graphqlRequest(gql, 'mutation { login(input: { email: "a@b.co", password: "x" }) { user { id } } }');
    expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(['MAX_DEPTH_LIMIT']);
    expect(res.body.data).toBeUndefined();
  });

  it('refuses too many aliases with MAX_ALIASES_LIMIT', async () => {
    const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ');
    expect(errorCode(await graphqlRequest(gql, `{ ${aliases} }`))).toBe('MAX_ALIASES_LIMIT');
  });

  it('refuses too many root fields with MAX_ROOT_FIELDS_LIMIT', async () => {
    const fields = Array.from({ length: 21 }, (_, i) => `m${i}: me { id }`).join(' ');
    const res = await graphqlRequest(gql, `{ ${fields} }`);
    expect(res.body.errors?.map((e) => e.extensions?.code)).toContain('MAX_ROOT_FIELDS_LIMIT');
  });
});

describe('HTTP behaviour', () => {
  it('echoes a given x-request-id and logs it in the gateway and the subgraph', async () => {
    const requestId = `e2e-${Date.now()}`;
    const res = await graphqlRequest(gql, 'mutation { logout(refreshToken: "unknown") }', { headers: { 'x-request-id': requestId } });
    expect(res.headers.get('x-request-id')).toBe(requestId);
    await new Promise((r) => setTimeout(r, 300));
    const lines = platform.output().split('\n').filter((l) => l.includes(requestId));
    expect(lines.some((l) => l.includes('"service":"gateway"'))).toBe(true);
    expect(lines.some((l) => l.includes('"service":"identity"'))).toBe(true);
  });

  it('makes up a request id when none is given', async () => {
    const res = await graphqlRequest(gql, '{ __typename }');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never logs a password or a token', async () => {
    await register('secret.logs@example.com', 'never print this passphrase');
    const { refreshToken } = await login('secret.logs@example.com', 'never print this passphrase');
    await new Promise((r) => setTimeout(r, 200));
    expect(platform.output()).not.toContain('never print this passphrase');
    expect(platform.output()).not.toContain(refreshToken);
  });

  it('blocks a simple GET that could be a cross-site request forgery', async () => {
    const res = await fetch(`${gql}?query=${encodeURIComponent('{ __typename }')}`);
    expect(res.status).toBe(400);
  });

  it('allows CORS only for configured origins', async () => {
    const preflight = (origin: string) =>
      fetch(gql, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    expect((await preflight(ALLOWED_ORIGIN)).headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect((await preflight('http://evil.test')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves health and Prometheus metrics on every service', async () => {
    for (const base of [platform.gatewayUrl, platform.identityUrl]) {
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
      expect((await fetch(`${base}/health/ready`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('http_requests_total');
      expect(metrics).toContain('http_request_duration_seconds_bucket');
    }
  });

  it('publishes identity JWKS with Ed25519 keys only', async () => {
    const jwks = (await (await fetch(`${platform.identityUrl}/.well-known/jwks.json`)).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const k of jwks.keys) {
      expect(k).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
      expect(k.d).toBeUndefined();
    }
  });
});

describe('subgraph request deduplication (SUBGRAPH_DEDUPLICATION, on by default)', () => {
  const shared = async () => {
    const text = await (await fetch(`${platform.gatewayUrl}/metrics`)).text();
    return Number(/citadel_gateway_subgraph_fetches_deduplicated_total\{[^}]*subgraph="identity"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
  };

  it('shares identical queries of one caller in flight, and never one caller\'s answer with another', async () => {
    const callers = ['dedup.alice@example.com', 'dedup.bob@example.com'];
    for (const email of callers) expect((await register(email)).body.errors).toBeUndefined();
    const tokens = await Promise.all(callers.map(async (email) => (await login(email)).accessToken));
    const before = await shared();
    // Bursts of the same query from both callers, interleaved, until some were shared (the first
    // burst nearly always suffices; a busy machine may serialise one).
    for (let burst = 0; burst < 10 && (await shared()) === before; burst++) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => graphqlRequest<{ me: { email: string } }>(gql, '{ me { id email name } }', { token: tokens[i % 2] })),
      );
      answers.forEach((res, i) => expect(res.body.data?.me.email).toBe(callers[i % 2]));
    }
    expect(await shared()).toBeGreaterThan(before);
  });
});

describe('graphql-ws on the gateway', () => {
  const wsUrl = () => `${platform.gatewayUrl.replace('http', 'ws')}/graphql`;
  /** Runs one operation over a fresh connection; resolves with its result or the close code. */
  const overWs = (query: string, authorization?: string) =>
    new Promise<{ result?: Record<string, unknown>; closeCode?: number }>((resolve) => {
      const client = createClient({
        url: wsUrl(),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: authorization ? { Authorization: authorization } : {},
        on: { closed: (event) => resolve({ closeCode: (event as { code: number }).code }) },
      });
      let result: Record<string, unknown> | undefined;
      client.subscribe(
        { query },
        {
          next: (value) => (result = value as Record<string, unknown>),
          error: (errors) => resolve({ result: { errors } }),
          complete: () => {
            resolve({ result });
            void client.dispose();
          },
        },
      );
    });

  it('runs a query as the caller whose token was given at connection', async () => {
    await register('ws@example.com');
    const { accessToken } = await login('ws@example.com');
    const { result } = await overWs('{ me { email } }', `Bearer ${accessToken}`);
    expect(result).toEqual({ data: { me: { email: 'ws@example.com' } } });
  });

  it('closes the connection with 4403 for a bad token instead of going anonymous', async () => {
    const { closeCode } = await overWs('{ __typename }', 'Bearer not.a.token');
    expect(closeCode).toBe(4403);
  });

  it('applies the same operation limits as HTTP', async () => {
    const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ');
    const { result } = await overWs(`{ ${aliases} }`);
    expect(JSON.stringify(result)).toContain('MAX_ALIASES_LIMIT');
  });
});

describe('a subgraph refusing the gateway', () => {
  // Threat: a misconfigured node (wrong key) leaks internal URLs and upstream bodies to clients,
  // or tells them their own valid token is UNAUTHENTICATED.
  it('gives SUBREQUEST_HTTP_ERROR naming the subgraph, with no URL, status or body', async () => {
    const port = await freePort();
    const rogue = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
      env: {
        ...process.env,
        GATEWAY_PORT: String(port),
        KEYS_DIR: mkdtempSync(join(tmpdir(), 'citadel-rogue-keys-')), // a key identity does not trust
        IDENTITY_URL: platform.identityUrl,
        IDENTITY_JWKS_URL: `${platform.identityUrl}/.well-known/jwks.json`,
        SUBGRAPH_IDENTITY_URL: `${platform.identityUrl}/graphql`,
        LOG_LEVEL: 'silent',
      },
    });
    try {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !(await fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.ok, () => false))) {
        await new Promise((r) => setTimeout(r, 200));
      }
      const res = await graphqlRequest(`http://127.0.0.1:${port}/graphql`, '{ me { id } }');
      expect(res.body.errors?.[0]?.message).toBe("HTTP fetch failed from 'identity'");
      expect(errorCode(res)).toBe('SUBREQUEST_HTTP_ERROR');
      const text = JSON.stringify(res.body);
      expect(text).not.toContain('127.0.0.1');
      expect(text).not.toContain('internal token');
    } finally {
      rogue.kill('SIGTERM');
    }
  });
});
