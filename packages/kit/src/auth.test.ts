// Security: subgraphs accept only tokens the gateway minted for them, unexpired.
import { createLocalJWKSet } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createInternalTokenVerifier, InternalTokenError, InternalTokenMinter } from './auth';
import { generateSigningKey } from './keys';

const newKey = generateSigningKey;
const caller = { userId: 'u-1', sessionId: 's-1', permissions: ['identity.user.read'], policies: [] };

describe('internal tokens', () => {
  it('carry the caller to the subgraph they were minted for', async () => {
    const key = await newKey();
    const token = await new InternalTokenMinter(key).mint(caller, 'identity');
    const verify = createInternalTokenVerifier({ audience: 'identity', jwks: createLocalJWKSet(key.jwks) });
    expect(await verify(`Bearer ${token}`)).toEqual(caller);
  });

  it('are reused while fresh, per subgraph', async () => {
    const minter = new InternalTokenMinter(await newKey());
    const a = await minter.mint(caller, 'identity');
    expect(await minter.mint(caller, 'identity')).toBe(a);
    expect(await minter.mint(caller, 'authz')).not.toBe(a);
  });

  it('are refused by another subgraph, and when signed by another key, or missing', async () => {
    const key = await newKey();
    const token = await new InternalTokenMinter(key).mint(caller, 'authz');
    const verify = createInternalTokenVerifier({ audience: 'identity', jwks: createLocalJWKSet(key.jwks) });
    await expect(verify(`Bearer ${token}`)).rejects.toBeInstanceOf(InternalTokenError);
    const forged = await new InternalTokenMinter(await newKey()).mint(caller, 'identity');
    await expect(verify(`Bearer ${forged}`)).rejects.toBeInstanceOf(InternalTokenError);
    await expect(verify(undefined)).rejects.toBeInstanceOf(InternalTokenError);
  });

  it('get a token of their own for another permission set, policy or session, so a change is never served a stale token', async () => {
    const minter = new InternalTokenMinter(await newKey());
    const a = await minter.mint(caller, 'identity');
    expect(await minter.mint({ ...caller, permissions: [] }, 'identity')).not.toBe(a);
    expect(await minter.mint({ ...caller, policies: ['mfa'] }, 'identity')).not.toBe(a);
    expect(await minter.mint({ ...caller, sessionId: 's-2' }, 'identity')).not.toBe(a);
    expect(await minter.mint({ ...caller, userId: 'u-2' }, 'identity')).not.toBe(a);
  });
});

// Security: a subgraph remembers tokens it verified; the memory must not outlive a token's
// validity, answer for a token it never verified, or let one answer be changed for the next.
describe('internal token verification cache', () => {
  afterEach(() => vi.useRealTimers());

  it('stops accepting a remembered token at its expiry, as a fresh verification would', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const key = await newKey();
    const token = await new InternalTokenMinter(key).mint(caller, 'identity');
    const verify = createInternalTokenVerifier({ audience: 'identity', jwks: createLocalJWKSet(key.jwks) });
    expect(await verify(`Bearer ${token}`)).toEqual(caller);
    vi.setSystemTime(new Date('2030-01-01T00:00:59Z'));
    expect(await verify(`Bearer ${token}`)).toEqual(caller);
    vi.setSystemTime(new Date('2030-01-01T00:01:00Z'));
    await expect(verify(`Bearer ${token}`)).rejects.toThrow('Invalid internal token (ERR_JWT_EXPIRED)');
  });

  it('refuses a token that differs from a remembered one only in its claims', async () => {
    const key = await newKey();
    const token = await new InternalTokenMinter(key).mint(caller, 'identity');
    const verify = createInternalTokenVerifier({ audience: 'identity', jwks: createLocalJWKSet(key.jwks) });
    await verify(`Bearer ${token}`);
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const escalated = Buffer.from(JSON.stringify({ ...claims, perms: ['authz.role.manage'] })).toString('base64url');
    await expect(verify(`Bearer ${header}.${escalated}.${signature}`)).rejects.toThrow('Invalid internal token (ERR_JWS_SIGNATURE_VERIFICATION_FAILED)');
  });

  it('hands each request its own caller, so one request cannot change what the next is told', async () => {
    const key = await newKey();
    const token = await new InternalTokenMinter(key).mint(caller, 'identity');
    const verify = createInternalTokenVerifier({ audience: 'identity', jwks: createLocalJWKSet(key.jwks) });
    const first = await verify(`Bearer ${token}`);
    (first as { userId: string | null }).userId = 'someone-else';
    const second = await verify(`Bearer ${token}`);
    expect(second).toEqual(caller);
    expect(() => (second.permissions as string[]).push('authz.role.manage')).toThrow(TypeError);
    expect(await verify(`Bearer ${token}`)).toEqual(caller);
  });

  it('verifies a token once by default, every time with cacheSize 0, and refuses a bad size', async () => {
    expect(() => createInternalTokenVerifier({ audience: 'identity', jwks: 'http://127.0.0.1:1/jwks.json', cacheSize: -1 })).toThrow('cacheSize must be a non-negative integer');
    const key = await newKey();
    const token = await new InternalTokenMinter(key).mint(caller, 'identity');
    const keys = createLocalJWKSet(key.jwks);
    const lookups = async (cacheSize?: number) => {
      let count = 0;
      const verify = createInternalTokenVerifier({ audience: 'identity', jwks: (...args) => (count++, keys(...args)), ...(cacheSize === undefined ? {} : { cacheSize }) });
      for (let i = 0; i < 3; i++) expect(await verify(`Bearer ${token}`)).toEqual(caller);
      return count;
    };
    expect(await lookups()).toBe(1);
    expect(await lookups(0)).toBe(3);
  });
});
