// Threat: a client spreading requests over gateway nodes (or racing them) to multiply its quota.
// Buckets in Redis are shared and every take is one atomic script.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MemoryBucketStore, RedisBucketStore, retryAfterSeconds, type Draw } from './rate-limit';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('Redis rate-limit test not run: REDIS_URL is not set (CI sets it)');

describe.skipIf(!REDIS_URL)('RedisBucketStore', () => {
  const node = (prefix: string) => new RedisBucketStore({ url: REDIS_URL!, prefix, fallback: new MemoryBucketStore(), onFailure: (e) => { throw e; } });

  it('lets exactly the quota through when two nodes race for one bucket', async () => {
    const prefix = `citadel-test:${randomUUID()}:`;
    const [a, b] = [node(prefix), node(prefix)];
    await Promise.all([a.connected(), b.connected()]);
    try {
      const draw: Draw[] = [{ policy: 'client', key: '{ip:192.0.2.1}:client', quota: 10 }];
      const verdicts = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).take(draw)));
      expect(verdicts.filter((v) => v.allowed)).toHaveLength(10);
      const refused = verdicts.find((v) => !v.allowed)!;
      expect(refused.buckets[0]!.tokens).toBeLessThan(1);
      // 10 per minute: a token every 6 s.
      expect(retryAfterSeconds(refused)).toBeGreaterThanOrEqual(5);
      expect(retryAfterSeconds(refused)).toBeLessThanOrEqual(6);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('takes from both buckets or neither, and lets a bucket expire once it would be full', async () => {
    const prefix = `citadel-test:${randomUUID()}:`;
    const store = node(prefix);
    const redis = new Redis(REDIS_URL!);
    await store.connected();
    try {
      const client: Draw = { policy: 'client', key: '{user:u1}:client', quota: 100 };
      const operation: Draw = { policy: 'operation', key: '{user:u1}:op:login', quota: 1 };
      expect((await store.take([client, operation])).allowed).toBe(true);
      const refused = await store.take([client, operation]);
      expect(refused.allowed).toBe(false);
      expect(Math.floor(refused.buckets[0]!.tokens)).toBe(99);
      const ttl = await redis.pttl(`${prefix}{user:u1}:op:login`);
      // One token of a 1-per-minute bucket: full again, and forgotten, within a minute.
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      expect(await redis.pttl(`${prefix}{user:u1}:client`)).toBeLessThanOrEqual(600);
    } finally {
      await store.close();
      await redis.quit();
    }
  });
});
