// Brute-force protection for password logins: every attempt is counted per account and per IP
// before the password is checked (so parallel attempts cannot slip past), failures are answered
// ever more slowly, and past the limit the account (or IP) is locked until its window ends.
// Without its counters (Redis unreachable) it fails closed: every attempt is refused.
import { AppError, COMMON_ERRORS } from '@citadel/kit/errors';
import { CountersUnavailable, type CounterStore } from '@citadel/kit/counters';
import { failClosed } from '../identity.errors';

export interface LoginThrottleSettings {
  /** Attempts per account within the window before it is locked. Default 10. */
  maxAttemptsPerAccount: number;
  /** Attempts per client IP within the window (many accounts from one address). Default 100. */
  maxAttemptsPerIp: number;
  /** The window, and so the longest lock. Default 15 minutes. */
  windowSeconds: number;
  /** Delay after the third failure, doubling with each further one. Default 250 ms. */
  baseDelayMs: number;
  /** The longest delay. Default 4 s. */
  maxDelayMs: number;
}

export interface Attempt {
  accountKey: string;
  accountCount: number;
}

/** How long to hold the answer to the `n`th failed attempt in a window. */
export function failureDelayMs(n: number, settings: Pick<LoginThrottleSettings, 'baseDelayMs' | 'maxDelayMs'>): number {
  if (n < 3 || settings.baseDelayMs === 0) return 0;
  return Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (n - 3));
}

export class LoginThrottle {
  constructor(
    private readonly store: CounterStore,
    private readonly settings: LoginThrottleSettings,
  ) {}

  /**
   * Counts the attempt. Throws TOO_MANY_REQUESTS (with `retryAfter` seconds) when the account or
   * the IP is over its limit; the same for known and unknown emails, so it reveals nothing.
   * Throws SERVICE_UNAVAILABLE when the attempt cannot be counted: an uncounted attempt would be
   * an unlimited guess.
   */
  async begin(account: string, ip: string | null): Promise<Attempt> {
    const windowMs = this.settings.windowSeconds * 1000;
    const accountKey = `login:account:${account}`;
    const [byAccount, byIp] = await Promise.all([
      this.store.increment(accountKey, windowMs),
      this.store.increment(`login:ip:${ipBucket(ip)}`, windowMs),
    ]).catch(failClosed('Sign-in is temporarily unavailable; try again shortly'));
    const over = [
      byAccount.count > this.settings.maxAttemptsPerAccount ? byAccount.resetsInMs : 0,
      byIp.count > this.settings.maxAttemptsPerIp ? byIp.resetsInMs : 0,
    ];
    const lockedForMs = Math.max(...over);
    if (lockedForMs > 0) {
      throw new AppError(COMMON_ERRORS.TOO_MANY_REQUESTS, 'Too many sign-in attempts; try again later', {
        retryAfter: Math.ceil(lockedForMs / 1000),
      });
    }
    return { accountKey, accountCount: byAccount.count };
  }

  /** Holds the failure's answer back, longer with each failure in the window. */
  async failed(attempt: Attempt): Promise<void> {
    const ms = failureDelayMs(attempt.accountCount, this.settings);
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** A completed sign-in (every factor) clears the account's count (not the IP's). */
  async succeeded(attempt: Attempt): Promise<void> {
    await this.store.reset(attempt.accountKey).catch(stillCounted);
  }

  /** The same, for a sign-in completed later (the second factor of an MFA login). */
  async clear(account: string): Promise<void> {
    await this.store.reset(`login:account:${account}`).catch(stillCounted);
  }
}

/** A count that could not be cleared only locks sooner: not worth refusing a proven sign-in for. */
function stillCounted(error: unknown): void {
  if (!(error instanceof CountersUnavailable)) throw error;
}

/**
 * The unit a per-IP limit counts: an IPv4 address, or an IPv6 /64 (one subscriber's network, in
 * which an attacker can pick any address).
 */
export function ipBucket(ip: string | null): string {
  if (!ip) return 'unknown';
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (v4) return v4[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.padStart(4, '0')).join(':')}::/64`;
}
