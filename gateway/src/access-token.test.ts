// Security: a forged, tampered, expired, unsigned or unknown-key token must never pass as a user,
// and must never quietly fall back to anonymous either.
import { createLocalJWKSet, SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpError } from '@citadel/kit/http';
import { generateSigningKey, type SigningKey } from '@citadel/kit/keys';
import { createAccessTokenVerifier } from './access-token';

const newKey = generateSigningKey;

let key: SigningKey;
let other: SigningKey;
let verify: ReturnType<typeof createAccessTokenVerifier>;

const sign = (signer: SigningKey, claims: Record<string, unknown> = {}, exp = '15m') =>
  new SignJWT({ sid: 's-1', ...claims })
    .setProtectedHeader({ alg: 'EdDSA', kid: signer.kid, typ: 'at+jwt' })
    .setSubject('u-1')
    .setIssuer('citadel-identity')
    .setAudience('citadel')
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(signer.privateKey);

const refusal = async (header: string) => {
  const error = await verify(header).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HttpError);
  return error as HttpError;
};

beforeAll(async () => {
  key = await newKey();
  other = await newKey();
  verify = createAccessTokenVerifier({
    jwks: createLocalJWKSet(key.jwks),
    issuer: 'citadel-identity',
    audience: 'citadel',
    maxAgeSeconds: 3600,
    isRevoked: (sid) => sid === 'revoked-session',
  });
});

describe('access token verification', () => {
  it('turns a valid token into its user and session', async () => {
    expect(await verify(`Bearer ${await sign(key)}`)).toEqual({ userId: 'u-1', sessionId: 's-1', permissions: [], policies: [], expiresAt: expect.any(Number) });
  });

  it('treats no Authorization header as anonymous', async () => {
    expect((await verify(undefined)).userId).toBeNull();
  });

  it('refuses a tampered payload', async () => {
    const [h, p, s] = (await sign(key)).split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    payload.sub = 'admin';
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    const error = await refusal(`Bearer ${forged}`);
    expect([error.status, error.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('refuses an expired token, saying so', async () => {
    const error = await refusal(`Bearer ${await signExpired()}`);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.extensions.reason).toBe('TOKEN_EXPIRED');
  });

  it('refuses alg: none', async () => {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: 'u-1', iss: 'citadel-identity', aud: 'citadel', iat: now, exp: now + 600 })}.`;
    expect((await refusal(`Bearer ${unsigned}`)).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token signed by a key identity does not publish', async () => {
    expect((await refusal(`Bearer ${await sign(other)}`)).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token for another audience or issuer', async () => {
    const wrongAud = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
      .setSubject('u-1')
      .setIssuer('citadel-identity')
      .setAudience('someone-else')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key.privateKey);
    expect((await refusal(`Bearer ${wrongAud}`)).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token of a session that has ended, saying so', async () => {
    const error = await refusal(`Bearer ${await sign(key, { sid: 'revoked-session' })}`);
    expect([error.code, error.extensions.reason]).toEqual(['UNAUTHENTICATED', 'SESSION_REVOKED']);
  });

  it('refuses a token issued longer ago than the maximum age, even if exp says otherwise', async () => {
    const old = Math.floor(Date.now() / 1000) - 7200;
    const token = await new SignJWT({ sid: 's-1' })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
      .setSubject('u-1')
      .setIssuer('citadel-identity')
      .setAudience('citadel')
      .setIssuedAt(old)
      .setExpirationTime(old + 86_400)
      .sign(key.privateKey);
    expect((await refusal(`Bearer ${token}`)).code).toBe('UNAUTHENTICATED');
  });

  it('answers 503, not 401, when identity\'s JWKS endpoint answers with an error', async () => {
    const { createServer } = await import('node:http');
    const broken = createServer((_req, res) => res.writeHead(502).end('bad gateway'));
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    const port = (broken.address() as { port: number }).port;
    try {
      const remote = createAccessTokenVerifier({
        jwks: `http://127.0.0.1:${port}/.well-known/jwks.json`,
        issuer: 'citadel-identity',
        audience: 'citadel',
        maxAgeSeconds: 3600,
      });
      const error = await remote(`Bearer ${await sign(key)}`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HttpError);
      expect([(error as HttpError).status, (error as HttpError).code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    } finally {
      broken.close();
    }
  });

  it('refuses a malformed Authorization header instead of ignoring it', async () => {
    expect((await refusal('Basic dXNlcjpwYXNz')).code).toBe('UNAUTHENTICATED');
    expect((await refusal('Bearer not.a.jwt')).code).toBe('UNAUTHENTICATED');
  });
});

function signExpired(): Promise<string> {
  const past = Math.floor(Date.now() / 1000) - 3600;
  return new SignJWT({ sid: 's-1' })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' })
    .setSubject('u-1')
    .setIssuer('citadel-identity')
    .setAudience('citadel')
    .setIssuedAt(past - 900)
    .setExpirationTime(past)
    .sign(key.privateKey);
}

describe('session policies for @policy', () => {
  it('grants mfa only to a session started with a second factor, and verified only to a verified address', async () => {
    expect((await verify(`Bearer ${await sign(key, { amr: ['pwd'], email_verified: false })}`)).policies).toEqual([]);
    expect((await verify(`Bearer ${await sign(key, { amr: ['pwd', 'otp'], email_verified: true })}`)).policies).toEqual(['mfa', 'verified']);
    // Claims of the wrong shape grant nothing.
    expect((await verify(`Bearer ${await sign(key, { amr: 'pwd otp', email_verified: 'true' })}`)).policies).toEqual([]);
  });
});

describe('token types', () => {
  it("refuses identity's service token, signed with the same key, as an access token", async () => {
    const serviceToken = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'citadel-service+jwt' })
      .setSubject('u-1')
      .setIssuer('citadel-identity')
      .setAudience('citadel')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(key.privateKey);
    expect((await refusal(`Bearer ${serviceToken}`)).code).toBe('UNAUTHENTICATED');
  });
});

// Security: verified tokens are remembered; the memory must not outlive a token's validity, hide a
// revocation, or let one request's caller change what the next one is told.
describe('access token verification cache', () => {
  afterEach(() => vi.useRealTimers());
  const verifier = (revoked: Set<string>, cacheSize?: number) => {
    let lookups = 0;
    const keys = createLocalJWKSet(key.jwks);
    const verifyWith = createAccessTokenVerifier({
      jwks: (...args) => (lookups++, keys(...args)),
      issuer: 'citadel-identity',
      audience: 'citadel',
      maxAgeSeconds: 600,
      isRevoked: (sid) => revoked.has(sid),
      ...(cacheSize === undefined ? {} : { cacheSize }),
    });
    return { verify: verifyWith, lookups: () => lookups };
  };

  it('verifies a token once, and still refuses it as soon as its session is revoked', async () => {
    const revoked = new Set<string>();
    const { verify: check, lookups } = verifier(revoked);
    const header = `Bearer ${await sign(key)}`;
    expect((await check(header)).userId).toBe('u-1');
    expect((await check(header)).userId).toBe('u-1');
    expect(lookups()).toBe(1);
    revoked.add('s-1');
    await expect(check(header)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', extensions: { reason: 'SESSION_REVOKED' } });
  });

  it('refuses a remembered token from its expiry and from its maximum age on', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const { verify: check } = verifier(new Set());
    const shortLived = `Bearer ${await sign(key, {}, '5m')}`;
    const longLived = `Bearer ${await sign(key, {}, '2h')}`;
    await check(shortLived);
    await check(longLived);
    vi.setSystemTime(new Date('2030-01-01T00:04:59Z'));
    expect((await check(shortLived)).userId).toBe('u-1');
    vi.setSystemTime(new Date('2030-01-01T00:05:00Z'));
    await expect(check(shortLived)).rejects.toMatchObject({ extensions: { reason: 'TOKEN_EXPIRED' } });
    expect((await check(longLived)).userId).toBe('u-1');
    vi.setSystemTime(new Date('2030-01-01T00:10:01Z'));
    await expect(check(longLived)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('hands each request its own caller', async () => {
    const { verify: check } = verifier(new Set());
    const header = `Bearer ${await sign(key, { amr: ['pwd', 'otp'] })}`;
    const first = await check(header);
    first.permissions = ['authz.role.manage'];
    (first.policies as string[]).push('verified');
    expect(await check(header)).toMatchObject({ userId: 'u-1', permissions: [], policies: ['mfa'] });
  });

  it('verifies every time with cacheSize 0, and refuses a bad size', async () => {
    const { verify: check, lookups } = verifier(new Set(), 0);
    const header = `Bearer ${await sign(key)}`;
    await check(header);
    await check(header);
    expect(lookups()).toBe(2);
    expect(() => verifier(new Set(), 1.5)).toThrow('cacheSize must be a non-negative integer');
  });
});
