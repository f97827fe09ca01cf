// Threat: parallel guesses racing past a lockout. Increments are atomic on both backends.
// Threat: guesses while Redis is gone. Counting fails fast and loudly (CountersUnavailable), so
// callers can refuse the attempt; it never waits long nor answers as if nothing was counted.
import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CountersUnavailable, MemoryCounterStore, RedisCounterStore, type CounterStore } from './counters';
import { freePort } from './testing/ports';
import { tcpRelay } from './testing/tcp-relay';

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

/** Rejects how long `work` took to settle, and what it rejected with. */
async function refusal(work: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { ms: Math.round(performance.now() - started), error };
}

describe.skipIf(!REDIS_URL)('RedisCounterStore while Redis is unreachable', () => {
  it('fails every call with CountersUnavailable at once while Redis is gone, and counts again once it is back', async () => {
    const relay = await tcpRelay(REDIS_URL!);
    const store = new RedisCounterStore(relay.url, `test:${Date.now()}:${Math.random()}:`);
    try {
      expect((await store.increment('k', 60_000)).count).toBe(1);
      await relay.cut();
      const refusals = [];
      for (let i = 0; i < 5; i++) {
        refusals.push(await refusal(store.increment('k', 60_000)));
        await new Promise((r) => setTimeout(r, 200));
      }
      for (const { error } of refusals) expect(error).toBeInstanceOf(CountersUnavailable);
      expect(Math.max(...refusals.map((r) => r.ms))).toBeLessThan(1_500);
      await expect(store.reset('k')).rejects.toBeInstanceOf(CountersUnavailable);

      await relay.restore();
      const restored = performance.now();
      let count = 0;
      while (count === 0 && performance.now() - restored < 10_000) {
        count = await store.increment('k', 60_000).then((c) => c.count, () => 0);
        if (count === 0) await new Promise((r) => setTimeout(r, 50));
      }
      // The count from before the outage is still there: nothing was lost, nothing counted twice.
      expect(count).toBe(2);
      console.log(`counters: refused in ${refusals.map((r) => r.ms).join(', ')} ms during the outage; counting again ${Math.round(performance.now() - restored)} ms after Redis was back`);
    } finally {
      await store.close();
      await relay.cut();
    }
  });
});

describe('RedisCounterStore with a Redis that accepts connections and never answers', () => {
  it('fails within its timeout instead of waiting', async () => {
    const port = await freePort();
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket.on('error', () => undefined)));
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    const store = new RedisCounterStore(`redis://127.0.0.1:${port}`, 'test:', { timeoutMs: 300 });
    try {
      const { ms, error } = await refusal(store.increment('k', 60_000));
      expect(error).toBeInstanceOf(CountersUnavailable);
      expect(ms).toBeLessThan(1_000);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
