// Security: subgraphs accept only tokens the gateway minted for them, unexpired.
import { createLocalJWKSet } from 'jose';
import { describe, expect, it } from 'vitest';
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
});
