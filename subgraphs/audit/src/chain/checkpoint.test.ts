import { describe, expect, it } from 'vitest';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { generateSigningKey } from '@citadel/kit/keys';
import { CHECKPOINT_TYPE, checkpointPayload, CheckpointSigner } from './checkpoint';

const HASH = 'a'.repeat(64);
const AT = '2026-01-02T03:04:05.678000Z';

describe('CheckpointSigner', () => {
  it('signs the canonical payload with Ed25519, checkable with nothing but the public key', async () => {
    const key = await generateSigningKey();
    const checkpoint = new CheckpointSigner(key).sign(100, HASH, AT);
    const payload = checkpointPayload(checkpoint);
    expect(payload).toBe(`{"hash":"${HASH}","keyId":"${key.kid}","seq":100,"signedAt":"${AT}","type":"${CHECKPOINT_TYPE}"}`);
    const publicKey = createPublicKey({ key: key.publicJwk as JsonWebKey, format: 'jwk' });
    expect(verify(null, Buffer.from(payload), publicKey, Buffer.from(checkpoint.signature, 'base64url'))).toBe(true);
  });

  it.each([
    ['seq', { seq: 101 }],
    ['hash', { hash: 'b'.repeat(64) }],
    ['signedAt', { signedAt: '2026-01-02T03:04:05.678001Z' }],
    ['signature', { signature: 'A'.repeat(86) }],
    ['signature encoding', { signature: '!!!' }],
  ])('refuses a checkpoint whose %s was changed', async (_field, change) => {
    const signer = new CheckpointSigner(await generateSigningKey());
    const checkpoint = signer.sign(100, HASH, AT);
    expect(signer.verify(checkpoint)).toBe(true);
    expect(signer.verify({ ...checkpoint, ...change })).toBe(false);
  });

  it('refuses a checkpoint signed by an unknown key, and accepts a retired key it was given', async () => {
    const current = await generateSigningKey();
    const retired = await generateSigningKey();
    const old = new CheckpointSigner(retired).sign(100, HASH, AT);
    expect(new CheckpointSigner(current).verify(old)).toBe(false);
    const signer = new CheckpointSigner(current, [retired.publicJwk]);
    expect(signer.verify(old)).toBe(true);
    expect(signer.jwks.keys.map((k) => k.kid)).toEqual([current.kid, retired.kid]);
    expect(JSON.stringify(signer.jwks)).not.toMatch(/"d"/);
  });
});
