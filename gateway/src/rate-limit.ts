// Token-bucket rate limits per client (the user, else the IP) and per operation name: in Redis when
// REDIS_URL is set (every gateway node draws from the same buckets), in memory otherwise.
import { once } from 'node:events';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Caller, ClientInfo } from '@citadel/kit/auth';
import { AppError, COMMON_ERRORS } from '@citadel/kit/errors';
import type { Logger } from '@citadel/kit/logger';
import { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import type { GatewayContext } from './context';

export const RATE_LIMIT_ERRORS = { TOO_MANY_REQUESTS: COMMON_ERRORS.TOO_MANY_REQUESTS } as const;

/** Every quota is per minute: the bucket holds a minute's worth and refills evenly over the minute. */
export const WINDOW_SECONDS = 60;
const WINDOW_MS = WINDOW_SECONDS * 1000;

export type PolicyName = 'client' | 'operation';

/** One bucket a request draws a token from. */
export interface Draw {
  policy: PolicyName;
  key: string;
  /** Tokens per minute, and so the bucket's size. */
  quota: number;
}

/** The outcome for one bucket. */
export interface BucketLevel {
  policy: PolicyName;
  quota: number;
  /** Tokens left after this request (fractional: the bucket refills continuously). */
  tokens: number;
}

export interface Verdict {
  /** True when every bucket had a token; then one was taken from each, otherwise none. */
  allowed: boolean;
  buckets: BucketLevel[];
}

export interface BucketStore {
  take(draws: readonly Draw[]): Promise<Verdict>;
  close(): Promise<void>;
}

interface Stored {
  tokens: number;
  /** When `tokens` was last written, in ms. */
  at: number;
}

/** The level of a bucket at `now`: what was stored plus the refill since, up to its size. */
export function levelAt(stored: Stored | undefined, quota: number, now: number): number {
  if (!stored) return quota;
  return Math.min(quota, stored.tokens + Math.max(0, now - stored.at) * (quota / WINDOW_MS));
}

/** Milliseconds until a bucket at `tokens` is full again (it can then be forgotten). */
export const fullInMs = (tokens: number, quota: number): number => Math.max(0, ((quota - tokens) * WINDOW_MS) / quota);

/** One process's buckets: the single-node default, and every node's fallback while Redis fails. */
export class MemoryBucketStore implements BucketStore {
  private readonly buckets = new Map<string, Stored>();
  private sweptAt: number;

  constructor(private readonly now: () => number = Date.now) {
    this.sweptAt = now();
  }

  async take(draws: readonly Draw[]): Promise<Verdict> {
    const now = this.now();
    if (now - this.sweptAt > WINDOW_MS) this.sweep(now);
    const levels = draws.map((d) => levelAt(this.buckets.get(d.key), d.quota, now));
    const allowed = levels.every((tokens) => tokens >= 1);
    const buckets = draws.map((d, i) => {
      const tokens = allowed ? levels[i]! - 1 : levels[i]!;
      if (allowed) this.buckets.set(d.key, { tokens, at: now });
      return { policy: d.policy, quota: d.quota, tokens };
    });
    return { allowed, buckets };
  }

  get size(): number {
    return this.buckets.size;
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }

  /** A full bucket is the same as none, so the map holds only clients active within the last minute. */
  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [key, stored] of this.buckets) if (stored.at + WINDOW_MS <= now) this.buckets.delete(key);
  }
}

// The same arithmetic as MemoryBucketStore, atomic across nodes. Redis's clock, not the nodes',
// so skewed gateway clocks cannot refill a bucket early. A full bucket's key expires.
// KEYS: the buckets; ARGV: each bucket's quota per minute, in KEYS order.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local levels = {}
local allowed = 1
for i = 1, #KEYS do
  local quota = tonumber(ARGV[i])
  local stored = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local level = quota
  if stored[1] then
    level = math.min(quota, tonumber(stored[1]) + math.max(0, now - tonumber(stored[2])) * quota / ${WINDOW_MS})
  end
  levels[i] = level
  if level < 1 then allowed = 0 end
end
local out = { allowed }
for i = 1, #KEYS do
  if allowed == 1 then
    local quota = tonumber(ARGV[i])
    levels[i] = levels[i] - 1
    redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i]), 'at', tostring(now))
    redis.call('PEXPIRE', KEYS[i], math.max(1, math.ceil((quota - levels[i]) * ${WINDOW_MS} / quota)))
  end
  out[i + 1] = tostring(levels[i])
end
return out`;

type TakeCommand = (...keysThenArgs: (string | number)[]) => Promise<[number, ...string[]]>;

export interface RedisBucketStoreOptions {
  url: string;
  /** Namespaces the keys, so deployments (or test runs) sharing a Redis stay apart. */
  prefix: string;
  /** Serves every request while Redis does not answer. */
  fallback: BucketStore;
  /** Called on each request Redis failed, and once when it answers again. */
  onFailure?: (error: unknown) => void;
  onRecovery?: () => void;
  /** How long to wait for Redis before using the fallback (default 250 ms). */
  timeoutMs?: number;
}

/**
 * Buckets every gateway node shares. While Redis fails, each node limits alone with its fallback
 * (fail open to per-node limits): a request is never refused, nor held up, because Redis is down.
 */
export class RedisBucketStore implements BucketStore {
  private readonly redis: Redis;
  private readonly takeTokens: TakeCommand;
  private failing = false;

  constructor(private readonly options: RedisBucketStoreOptions) {
    this.redis = new Redis(options.url, {
      // No queueing while disconnected and no retries: the fallback answers at once instead.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.timeoutMs ?? 250,
      enableAutoPipelining: true,
    });
    // Reported through onFailure per request; without a listener ioredis prints every reconnect error.
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('takeTokens', { lua: TAKE });
    const command = (this.redis as unknown as { takeTokens: TakeCommand }).takeTokens;
    this.takeTokens = command.bind(this.redis);
  }

  async take(draws: readonly Draw[]): Promise<Verdict> {
    try {
      const [allowed, ...levels] = await this.takeTokens(
        draws.length,
        ...draws.map((d) => `${this.options.prefix}${d.key}`),
        ...draws.map((d) => d.quota),
      );
      if (this.failing) {
        this.failing = false;
        this.options.onRecovery?.();
      }
      return { allowed: allowed === 1, buckets: draws.map((d, i) => ({ policy: d.policy, quota: d.quota, tokens: Number(levels[i]) })) };
    } catch (error) {
      this.failing = true;
      this.options.onFailure?.(error);
      return this.options.fallback.take(draws);
    }
  }

  /** Resolves once Redis is connected; until then (milliseconds at start-up) the fallback answers. */
  async connected(): Promise<void> {
    if (this.redis.status !== 'ready') await once(this.redis, 'ready');
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
    await this.options.fallback.close();
  }
}

export interface RateLimiterOptions {
  /** Requests per minute per client: the user when authenticated, else the client IP. */
  perMinute: number;
  /** Requests per minute per client for the named operations, on top of `perMinute`. */
  operations?: Readonly<Record<string, number>>;
  /** Redis shared by every gateway node; without it each process counts alone. */
  redisUrl?: string;
  /** Redis key namespace (COUNTER_KEY_PREFIX); `ratelimit:` is appended. */
  keyPrefix?: string;
  logger: Logger;
  /** A store other than the one `redisUrl` chooses: for tests. */
  store?: BucketStore;
}

/**
 * The gateway's rate limiter. `plugin()` counts every operation Apollo runs (HTTP, and queries and
 * mutations over WebSocket, which go through Apollo too); `forSubscription` counts the
 * subscriptions graphql-ws starts outside Apollo. All of them draw from the same buckets.
 */
export class RateLimiter {
  readonly store: BucketStore;
  private readonly operations: ReadonlyMap<string, number>;
  private limited: Counter<'policy'> | undefined;
  private storeFailures: Counter | undefined;
  private lastFailureLog = 0;

  constructor(private readonly options: RateLimiterOptions) {
    assertQuota('perMinute', options.perMinute);
    for (const [name, quota] of Object.entries(options.operations ?? {})) assertQuota(`operations.${name}`, quota);
    this.operations = new Map(Object.entries(options.operations ?? {}));
    const logger = options.logger;
    this.store =
      options.store ??
      (options.redisUrl
        ? new RedisBucketStore({
            url: options.redisUrl,
            prefix: `${options.keyPrefix ?? 'citadel:counter:'}ratelimit:`,
            fallback: new MemoryBucketStore(),
            onFailure: (error) => {
              this.storeFailures?.inc();
              // At most one line every 10 s while Redis stays away, not one per request.
              if (Date.now() - this.lastFailureLog < 10_000) return;
              this.lastFailureLog = Date.now();
              logger.warn({ err: error }, 'rate limit store (Redis) failed; each gateway node limits alone until it answers');
            },
            onRecovery: () => logger.info('rate limit store (Redis) answers again; limits are shared across nodes'),
          })
        : new MemoryBucketStore());
  }

  /** Takes a token from the caller's client bucket, and from its operation bucket when the name has a quota. */
  async check(caller: Pick<Caller, 'userId'>, client: Pick<ClientInfo, 'ip'>, operationName: string | null | undefined): Promise<Verdict> {
    // Braces: a Redis Cluster hash tag, so one client's buckets share a slot and one script takes both.
    const who = `{${caller.userId ? `user:${caller.userId}` : `ip:${client.ip ?? 'unknown'}`}}`;
    const draws: Draw[] = [{ policy: 'client', key: `${who}:client`, quota: this.options.perMinute }];
    const operationQuota = operationName ? this.operations.get(operationName) : undefined;
    if (operationQuota !== undefined) draws.push({ policy: 'operation', key: `${who}:op:${operationName}`, quota: operationQuota });
    const verdict = await this.store.take(draws);
    if (!verdict.allowed) for (const bucket of verdict.buckets) if (bucket.tokens < 1) this.limited?.inc({ policy: bucket.policy });
    return verdict;
  }

  /** HTTP and Apollo's executeOperation: 429 with Retry-After and TOO_MANY_REQUESTS, RateLimit headers on every answer. */
  plugin(): ApolloServerPlugin<GatewayContext> {
    return {
      requestDidStart: async () => {
        let verdict: Verdict | undefined;
        return {
          didResolveOperation: async ({ contextValue, operationName }) => {
            verdict = await this.check(contextValue.caller, contextValue.client, operationName);
            if (!verdict.allowed) throw tooManyRequests(verdict, { http: { status: 429 } });
          },
          willSendResponse: async ({ response }) => {
            if (!verdict) return;
            for (const [name, value] of rateLimitHeaders(verdict)) response.http.headers.set(name, value);
          },
        };
      },
    };
  }

  /** For a graphql-ws subscription: the error to answer with when the caller is over a limit. */
  async forSubscription(context: Pick<GatewayContext, 'caller' | 'client'>, operationName: string | null | undefined): Promise<AppError | undefined> {
    const verdict = await this.check(context.caller, context.client, operationName);
    return verdict.allowed ? undefined : tooManyRequests(verdict);
  }

  useMetrics(registry: Registry): void {
    this.limited = new Counter({
      name: 'citadel_rate_limited_total',
      help: 'Requests refused with TOO_MANY_REQUESTS, by the policy that was exhausted (client or operation)',
      labelNames: ['policy'] as const,
      registers: [registry],
    });
    this.storeFailures = new Counter({
      name: 'citadel_rate_limit_store_failures_total',
      help: 'Rate limit checks Redis did not answer, served by the node-local fallback instead',
      registers: [registry],
    });
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

function assertQuota(name: string, quota: number): void {
  if (!Number.isInteger(quota) || quota < 1) throw new RangeError(`rate limit ${name} must be a positive integer, got ${quota}`);
}

/** Seconds until every exhausted bucket has a token again (at least 1: Retry-After is whole seconds). */
export function retryAfterSeconds(verdict: Verdict): number {
  let ms = 0;
  for (const b of verdict.buckets) if (b.tokens < 1) ms = Math.max(ms, ((1 - b.tokens) * WINDOW_MS) / b.quota);
  return Math.max(1, Math.ceil(ms / 1000));
}

function tooManyRequests(verdict: Verdict, extensions: Record<string, unknown> = {}): AppError {
  const exhausted = verdict.buckets.filter((b) => b.tokens < 1);
  const retryAfter = retryAfterSeconds(verdict);
  const which = exhausted.map((b) => (b.policy === 'client' ? `${b.quota} requests per minute for this client` : `${b.quota} per minute for this operation`));
  return new AppError(RATE_LIMIT_ERRORS.TOO_MANY_REQUESTS, `Rate limit exceeded (${which.join(', ')}); retry in ${retryAfter} s`, {
    ...extensions,
    policies: exhausted.map((b) => b.policy),
    retryAfter,
  });
}

/**
 * The IETF draft's fields (draft-ietf-httpapi-ratelimit-headers, structured fields): one
 * `RateLimit-Policy` item per bucket the request drew from (`q` quota, `w` window in seconds) and
 * one `RateLimit` item each (`r` remaining, `t` seconds until the bucket is full again), plus
 * `Retry-After` when refused.
 */
export function rateLimitHeaders(verdict: Verdict): [string, string][] {
  const headers: [string, string][] = [
    ['ratelimit-policy', verdict.buckets.map((b) => `"${b.policy}";q=${b.quota};w=${WINDOW_SECONDS}`).join(', ')],
    [
      'ratelimit',
      verdict.buckets.map((b) => `"${b.policy}";r=${Math.max(0, Math.floor(b.tokens))};t=${Math.ceil(fullInMs(b.tokens, b.quota) / 1000)}`).join(', '),
    ],
  ];
  if (!verdict.allowed) headers.push(['retry-after', String(retryAfterSeconds(verdict))]);
  return headers;
}

const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * RATE_LIMIT_OPERATIONS, e.g. `login=20,register=5`: per-minute quotas per client by operation
 * name. Returns the problems instead when an entry is not `<GraphQL name>=<positive integer>`.
 */
export function parseOperationQuotas(text: string): { quotas: Record<string, number> } | { problems: string[] } {
  const quotas = new Map<string, number>();
  const problems: string[] = [];
  for (const entry of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name = '', quota = '', ...rest] = entry.split('=').map((s) => s.trim());
    const n = Number(quota);
    if (!OPERATION_NAME.test(name) || rest.length > 0 || !/^\d+$/.test(quota) || n < 1) {
      problems.push(`"${entry}" is not <operation name>=<requests per minute>`);
    } else if (quotas.has(name)) {
      problems.push(`operation ${name} is listed twice`);
    } else {
      quotas.set(name, n);
    }
  }
  return problems.length > 0 ? { problems } : { quotas: Object.fromEntries(quotas) };
}
