// Threat: parallel guesses racing past a lockout. Increments are atomic on both backends.
import { describe, expect, it } from 'vitest';
import { MemoryCounterStore, RedisCounterStore, type CounterStore } from './counters';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('Redis counter test not run: REDIS_URL is not set (CI sets it)');

async function behavesAsACounter(store: CounterStore) {
  const key = `test:${Date.now()}:${Math.random()}`;
  const counts = await Promise.all(Array.from({ length: 50 }, () => store.increment(key, 60_000)));
  expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  expect(counts.every((c) => c.resetsInMs > 0 && c.resetsInMs <= 60_000)).toBe(true);
  await store.reset(key);
  expect((await store.increment(key, 60_000)).count).toBe(1);
  const short = `${key}:short`;
  await store.increment(short, 50);
  await new Promise((r) => setTimeout(r, 120));
  expect((await store.increment(short, 50)).count).toBe(1);
}

describe('MemoryCounterStore', () => {
  it('counts every increment once, resets, and expires', () => behavesAsACounter(new MemoryCounterStore()));
});

describe.skipIf(!REDIS_URL)('RedisCounterStore', () => {
  it('counts every increment once, resets, and expires', async () => {
    const store = new RedisCounterStore(REDIS_URL!);
    try {
      await behavesAsACounter(store);
    } finally {
      await store.close();
    }
  });
});
