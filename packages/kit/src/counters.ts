// Expiring counters for rate limits and lockouts: Redis when REDIS_URL is set (shared by every
// node, atomic), in-memory otherwise (one process: the single-node default).
import { Redis } from 'ioredis';

export interface Count {
  /** The value after this increment. */
  count: number;
  /** Milliseconds until the counter resets. */
  resetsInMs: number;
}

export interface CounterStore {
  /** Atomically adds one; the first increment starts a window of `windowMs`. */
  increment(key: string, windowMs: number): Promise<Count>;
  reset(key: string): Promise<void>;
  close(): Promise<void>;
}

/** `prefix` namespaces the Redis keys, so deployments (or test runs) sharing a Redis stay apart. */
export function createCounterStore(redisUrl: string | undefined, prefix = 'citadel:counter:'): CounterStore {
  return redisUrl ? new RedisCounterStore(redisUrl, prefix) : new MemoryCounterStore();
}

export class MemoryCounterStore implements CounterStore {
  private readonly counters = new Map<string, { count: number; resetAt: number }>();
  private sweptAt = Date.now();

  async increment(key: string, windowMs: number): Promise<Count> {
    const now = Date.now();
    if (now - this.sweptAt > 60_000) this.sweep(now);
    const current = this.counters.get(key);
    const entry = current && current.resetAt > now ? current : { count: 0, resetAt: now + windowMs };
    entry.count++;
    this.counters.set(key, entry);
    return { count: entry.count, resetsInMs: entry.resetAt - now };
  }

  async reset(key: string): Promise<void> {
    this.counters.delete(key);
  }

  async close(): Promise<void> {
    this.counters.clear();
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [key, entry] of this.counters) if (entry.resetAt <= now) this.counters.delete(key);
  }
}

const INCREMENT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { n, redis.call('PTTL', KEYS[1]) }`;

export class RedisCounterStore implements CounterStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix = 'citadel:counter:',
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 3, enableAutoPipelining: true });
  }

  async increment(key: string, windowMs: number): Promise<Count> {
    const [count, ttl] = (await this.redis.eval(INCREMENT, 1, `${this.prefix}${key}`, windowMs)) as [number, number];
    return { count, resetsInMs: Math.max(0, ttl) };
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(`${this.prefix}${key}`);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
