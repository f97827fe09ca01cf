import { describe, expect, it } from 'vitest';
import { MemoryCounterStore } from '@citadel/kit/counters';
import { AppError } from '@citadel/kit/errors';
import { failureDelayMs, LoginThrottle } from './login-throttle';

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
