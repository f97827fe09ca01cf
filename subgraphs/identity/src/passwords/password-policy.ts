// NIST 800-63B style rules: length 8..128, no composition rules, no common or email-equal passwords.
import { createRequire } from 'node:module';
import { weakPassword } from '../identity.errors';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 128;

/** ~49,000 most common passwords, from the zxcvbn-ts common dictionary (MIT). Loaded once. */
let common: ReadonlySet<string> | undefined;
export function commonPasswords(): ReadonlySet<string> {
  if (!common) {
    const require = createRequire(import.meta.url);
    const list = require('@zxcvbn-ts/language-common/src/passwords.json') as string[];
    common = new Set(list.map((p) => p.toLowerCase()));
  }
  return common;
}

/** Throws WEAK_PASSWORD with a `reason` when the password may not be used. */
export function assertAcceptablePassword(password: string, email: string): void {
  const length = [...password.normalize('NFC')].length;
  if (length < MIN_PASSWORD_LENGTH) {
    throw weakPassword('TOO_SHORT', `Password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (length > MAX_PASSWORD_LENGTH) {
    throw weakPassword('TOO_LONG', `Password must be at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  // Unicode is welcome (NIST 800-63B); control characters are not: NUL in particular is cut off
  // by some C libraries and clients, so two different passwords could end up the same.
  if (/\p{Cc}/u.test(password)) {
    throw weakPassword('INVALID_CHARACTERS', 'Password must not contain control characters');
  }
  const lowered = password.toLowerCase();
  if (lowered === email.trim().toLowerCase()) {
    throw weakPassword('MATCHES_EMAIL', 'Password must not be your email address');
  }
  if (commonPasswords().has(lowered)) {
    throw weakPassword('COMMON', 'This password is too common; choose one that is harder to guess');
  }
}
