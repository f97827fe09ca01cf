// Email addresses: stored as written (trimmed, NFC, domain lower-cased), unique case-insensitively.
import { badUserInput } from '@citadel/kit/errors';

const SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface NormalizedEmail {
  email: string;
  canonical: string;
}

export function normalizeEmail(raw: string): NormalizedEmail {
  const trimmed = raw.trim().normalize('NFC');
  const at = trimmed.lastIndexOf('@');
  if (trimmed.length > 254 || at < 1 || !SHAPE.test(trimmed)) {
    throw badUserInput('Email address is not valid', { field: 'email' });
  }
  const email = `${trimmed.slice(0, at)}@${trimmed.slice(at + 1).toLowerCase()}`;
  return { email, canonical: email.toLowerCase() };
}
