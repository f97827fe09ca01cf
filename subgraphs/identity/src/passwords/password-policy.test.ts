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

  it('takes 8 and 128 characters, refuses 7 and 129', () => {
    expect([7, 8, 128, 129].map((n) => reason('k'.repeat(n - 1) + 'z'))).toEqual(['TOO_SHORT', 'OK', 'OK', 'TOO_LONG']);
  });

  it('threat: NUL truncation making two passwords one. Control characters are refused', () => {
    expect(reason('correct horse\u0000battery')).toBe('INVALID_CHARACTERS');
    expect(reason('tab\tseparated words')).toBe('INVALID_CHARACTERS');
    expect(reason('spaces and ünïcödé are fine')).toBe('OK');
  });

  it('has no composition rules', () => {
    expect(reason('lowercase only words')).toBe('OK');
  });

  it('refuses the email in any case', () => {
    expect(reason('X@Example.com', 'x@example.com')).toBe('MATCHES_EMAIL');
  });
});
