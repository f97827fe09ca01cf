import { describe, expect, it } from 'vitest';
import { normalizeEmail } from './email';

describe('normalizeEmail', () => {
  it('trims, composes to NFC, lower-cases the domain only; the canonical form is all lower case', () => {
    expect(normalizeEmail('  Jose\u0301@EXAMPLE.org ')).toEqual({ email: 'Jos\u00e9@example.org', canonical: 'jos\u00e9@example.org' });
  });

  it.each(['', 'plain', '@example.com', 'a@b', 'a b@example.com', `${'a'.repeat(250)}@example.com`])('refuses %j', (raw) => {
    expect(() => normalizeEmail(raw)).toThrow(/not valid/);
  });
});
