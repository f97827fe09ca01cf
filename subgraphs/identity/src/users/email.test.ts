import { describe, expect, it } from 'vitest';
import { normalizeEmail } from './email';

describe('normalizeEmail', () => {
  it('accepts exactly 254 characters', () => {
    const email = `${'a'.repeat(242)}@example.com`;
    expect(email).toHaveLength(254);
    expect(normalizeEmail(email).email).toBe(email);
  });

  it('trims, composes to NFC, lower-cases the domain only; the canonical form is all lower case', () => {
    expect(normalizeEmail('  Jose\u0301@EXAMPLE.org ')).toEqual({ email: 'Jos\u00e9@example.org', canonical: 'jos\u00e9@example.org' });
  });

  it.each([
    '',
    '   ',
    'plain',
    '@example.com',
    'a@b',
    'a b@example.com',
    'a@b@example.com',
    'victim@example.com\r\nBcc: attacker@evil.test',
    `${'a'.repeat(250)}@example.com`,
  ])('refuses %j (header injection, two @, over 254 characters, empty)', (raw) => {
    expect(() => normalizeEmail(raw)).toThrow(/not valid/);
  });
});
