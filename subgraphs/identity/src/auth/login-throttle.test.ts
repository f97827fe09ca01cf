import { describe, expect, it } from 'vitest';
import { CountersUnavailable, MemoryCounterStore, type CounterStore } from '@citadel/kit/counters';
import { AppError } from '@citadel/kit/errors';
import { failureDelayMs, ipBucket, LoginThrottle } from './login-throttle';

const settings = { maxAttemptsPerAccount: 3, maxAttemptsPerIp: 5, windowSeconds: 900, baseDelayMs: 250, maxDelayMs: 4000 };

describe('failureDelayMs', () => {
  it('is nothing for the first two failures, then doubles up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => failureDelayMs(n, settings))).toEqual([0, 0, 250, 500, 1000, 2000, 4000, 4000]);
  });
});

describe('LoginThrottle', () => {
  it('locks an account after its attempts, telling when to retry, until a success clears it', async () => {
    const throttle = new LoginThrottle(new MemoryCounterStore(), settings);
    const first = await throttle.begin('a@example.com', '203.0.113.1');
    await throttle.begin('a@example.com', '203.0.113.1');
    await throttle.begin('a@example.com', '203.0.113.1');
    const error = await throttle.begin('a@example.com', '203.0.113.1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('TOO_MANY_REQUESTS');
    expect((error as AppError).extensions.retryAfter).toBeGreaterThan(890);
    await throttle.succeeded(first);
    await expect(throttle.begin('a@example.com', '203.0.113.1')).resolves.toBeDefined();
  });

  it('locks an IP that tries many accounts', async () => {
    const throttle = new LoginThrottle(new MemoryCounterStore(), settings);
    for (let i = 0; i < 5; i++) await throttle.begin(`user${i}@example.com`, '198.51.100.9');
    await expect(throttle.begin('fresh@example.com', '198.51.100.9')).rejects.toBeInstanceOf(AppError);
    await expect(throttle.begin('fresh@example.com', '198.51.100.10')).resolves.toBeDefined();
  });
});

/** Counters whose Redis is gone: every call fails as RedisCounterStore's do. */
const unreachable: CounterStore = {
  increment: () => Promise.reject(new CountersUnavailable('Redis is unreachable (counters)')),
  reset: () => Promise.reject(new CountersUnavailable('Redis is unreachable (counters)')),
  close: () => Promise.resolve(),
};

describe('LoginThrottle without its counters', () => {
  it('threat: guesses while Redis is down. Every attempt is refused with SERVICE_UNAVAILABLE, never let through uncounted', async () => {
    const throttle = new LoginThrottle(unreachable, settings);
    const error = await throttle.begin('a@example.com', '203.0.113.1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('SERVICE_UNAVAILABLE');
    expect((error as AppError).message).toBe('Sign-in is temporarily unavailable; try again shortly');
    expect((error as AppError).extensions.reason).toBe('COUNTERS_UNAVAILABLE');
  });

  it('does not refuse a proven sign-in because its count could not be cleared', async () => {
    const throttle = new LoginThrottle(unreachable, settings);
    await expect(throttle.succeeded({ accountKey: 'login:account:a@example.com', accountCount: 1 })).resolves.toBeUndefined();
    await expect(throttle.clear('a@example.com')).resolves.toBeUndefined();
  });
});

describe('ipBucket', () => {
  it('counts IPv4 per address (mapped IPv6 too) and IPv6 per /64', () => {
    expect(ipBucket('203.0.113.9')).toBe('203.0.113.9');
    expect(ipBucket('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(ipBucket('2001:db8:1:2:aaaa::1')).toBe('2001:0db8:0001:0002::/64');
    expect(ipBucket('2001:db8:1:2::ffff')).toBe(ipBucket('2001:db8:1:2:1:2:3:4'));
    expect(ipBucket('2001:db8:1:3::1')).not.toBe(ipBucket('2001:db8:1:2::1'));
    expect(ipBucket(null)).toBe('unknown');
  });
});
