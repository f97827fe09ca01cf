// Resource exhaustion: a flood of expensive work (argon2 at 19 MiB each) must queue, then be refused.
import { describe, expect, it } from 'vitest';
import { AppError } from './errors';
import { ConcurrencyLimiter } from './limiter';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('ConcurrencyLimiter', () => {
  it('never runs more than its concurrency, queues up to its queue size, refuses the rest', async () => {
    const limiter = new ConcurrencyLimiter(2, 3);
    const gate = deferred();
    let running = 0;
    let peak = 0;
    const task = async () => {
      running++;
      peak = Math.max(peak, running);
      await gate.promise;
      running--;
      return 'done';
    };
    const results = Array.from({ length: 8 }, () => limiter.run(task).catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 10));
    expect(limiter.stats).toEqual({ active: 2, waiting: 3 });
    gate.resolve();
    const settled = await Promise.all(results);
    expect(settled.filter((r) => r === 'done')).toHaveLength(5);
    const refused = settled.filter((r) => r instanceof AppError) as AppError[];
    expect(refused.map((e) => e.code)).toEqual(['TOO_MANY_REQUESTS', 'TOO_MANY_REQUESTS', 'TOO_MANY_REQUESTS']);
    expect(peak).toBe(2);
    expect(limiter.stats).toEqual({ active: 0, waiting: 0 });
  });

  it('frees the slot when a task fails', async () => {
    const limiter = new ConcurrencyLimiter(1, 0);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(async () => 1)).resolves.toBe(1);
  });
});
