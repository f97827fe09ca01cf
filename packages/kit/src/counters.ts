// Expiring counters for rate limits and lockouts: Redis when REDIS_URL is set (shared by every
// node, atomic), in-memory otherwise (one process: the single-node default).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RedisLink, RedisUnavailable } from './redis-link';

export interface Count {
  /** The value after this increment. */
  count: number;
  /** Milliseconds until the counter resets. */
  resetsInMs: number;
}

/**
 * The counters cannot be read or written (Redis unreachable, or no answer within a second). A
 * caller guarding against guessing must refuse the attempt (fail closed), not let it through.
 */
export class CountersUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CountersUnavailable';
  }
}

export interface CounterStore {
  /** Atomically adds one; the first increment starts a window of `windowMs`. Throws CountersUnavailable. */
  increment(key: string, windowMs: number): Promise<Count>;
  reset(key: string): Promise<void>;
  close(): Promise<void>;
}

/** `prefix` namespaces the Redis keys, so deployments (or test runs) sharing a Redis stay apart. */
export function createCounterStore(redisUrl: string | undefined, prefix = 'citadel:counter:', logger?: Logger): CounterStore {
  return redisUrl ? new RedisCounterStore(redisUrl, prefix, { logger }) : new MemoryCounterStore();
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

/** Answers within `timeoutMs` (default 1 s), at once while Redis is known to be gone, or throws CountersUnavailable. */
export class RedisCounterStore implements CounterStore {
  private readonly link: RedisLink;

  constructor(
    url: string,
    private readonly prefix = 'citadel:counter:',
    options: { logger?: Logger | undefined; timeoutMs?: number } = {},
  ) {
    this.link = new RedisLink(url, {
      purpose: 'counters',
      degradesTo: 'whatever is guarded by counters (sign-in, code and password attempts) is refused',
      logger: options.logger,
      timeoutMs: options.timeoutMs,
      redis: { enableAutoPipelining: true },
    });
  }

  async increment(key: string, windowMs: number): Promise<Count> {
    const [count, ttl] = (await this.run((redis) => redis.eval(INCREMENT, 1, `${this.prefix}${key}`, windowMs))) as [number, number];
    return { count, resetsInMs: Math.max(0, ttl) };
  }

  async reset(key: string): Promise<void> {
    await this.run((redis) => redis.del(`${this.prefix}${key}`));
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  private async run<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    try {
      return await this.link.call(command);
    } catch (error) {
      if (error instanceof RedisUnavailable) throw new CountersUnavailable(error.message, { cause: error });
      throw error;
    }
  }
}
