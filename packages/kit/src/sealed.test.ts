// Threat: a database dump exposing TOTP secrets, or a ciphertext copied onto another user's row.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seal, unseal } from './sealed';

describe('seal', () => {
  const key = randomBytes(32);

  it('round-trips, with a fresh IV each time', () => {
    const secret = Buffer.from('totp secret bytes');
    const a = seal(key, secret, 'user-1');
    expect(a).not.toBe(seal(key, secret, 'user-1'));
    expect(unseal(key, a, 'user-1')).toEqual(secret);
    expect(a).not.toContain(secret.toString('base64url'));
  });

  it('refuses another key, other associated data, or a tampered ciphertext', () => {
    const sealed = seal(key, Buffer.from('x'), 'user-1');
    expect(() => unseal(randomBytes(32), sealed, 'user-1')).toThrow();
    expect(() => unseal(key, sealed, 'user-2')).toThrow();
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('A') ? 'B' : 'A'}A`;
    expect(() => unseal(key, tampered, 'user-1')).toThrow();
  });
});
