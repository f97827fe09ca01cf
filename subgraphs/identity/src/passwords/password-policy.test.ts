import { describe, expect, it } from 'vitest';
import { AppError } from '@citadel/kit/errors';
import { assertAcceptablePassword, commonPasswords } from './password-policy';

const reason = (password: string, email = 'x@example.com') => {
  try {
    assertAcceptablePassword(password, email);
    return 'OK';
  } catch (error) {
    return (error as AppError).extensions.reason;
  }
};

describe('password policy', () => {
  it('bundles at least 10,000 common passwords', () => {
    expect(commonPasswords().size).toBeGreaterThanOrEqual(10_000);
  });

  it('counts characters, not bytes: 8 emoji are 8 characters', () => {
    expect(reason('😀😀😀😀😀😀😀😀')).toBe('OK');
    expect(reason('😀😀😀😀😀😀😀')).toBe('TOO_SHORT');
  });

  it('has no composition rules', () => {
    expect(reason('lowercase only words')).toBe('OK');
  });

  it('refuses the email in any case', () => {
    expect(reason('X@Example.com', 'x@example.com')).toBe('MATCHES_EMAIL');
  });
});
