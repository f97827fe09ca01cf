// Publish/subscribe with two real backends: Redis when REDIS_URL is set (every node sees every
// event), in-memory otherwise (one process: the documented single-node default).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { RedisLink } from './redis-link';

export type Unsubscribe = () => Promise<void>;

export interface PubSub {
  readonly kind: 'redis' | 'memory';
  /**
   * Delivers to every subscriber of the channel. With Redis unreachable it still reaches this
   * process's subscribers and resolves (RedisPubSub: within about a second); other nodes miss it.
   */
  publish(channel: string, message: unknown): Promise<void>;
  subscribe(channel: string, handler: (message: unknown) => void): Promise<Unsubscribe>;
  close(): Promise<void>;
}

const PREFIX = 'citadel:';

export function createPubSub(redisUrl: string | undefined, logger: Logger): PubSub {
  return redisUrl ? new RedisPubSub(redisUrl, logger) : new MemoryPubSub();
}

export class MemoryPubSub implements PubSub {
  readonly kind = 'memory';
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async publish(channel: string, message: unknown): Promise<void> {
    // Delivered asynchronously, as Redis would, and as a copy: subscribers cannot share state.
    const copy = JSON.parse(JSON.stringify(message)) as unknown;
    queueMicrotask(() => this.emitter.emit(channel, copy));
  }

  async subscribe(channel: string, handler: (message: unknown) => void): Promise<Unsubscribe> {
    this.emitter.on(channel, handler);
    return async () => {
      this.emitter.off(channel, handler);
    };
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/** How a message travels through Redis: `origin` names the node that published it. */
interface Envelope {
  origin: string;
  message: unknown;
}

const isEnvelope = (value: unknown): value is Envelope =>
  typeof value === 'object' && value !== null && typeof (value as Envelope).origin === 'string' && 'message' in value && Object.keys(value).length === 2;

/**
 * Every node's subscribers through Redis. A node delivers its own messages to its own subscribers
 * directly and skips them when Redis echoes them back, so they arrive exactly once, and still
 * arrive while Redis is gone (local-only delivery: other nodes miss what is published then; the
 * gateway's revocation and permission polls catch up, live todo events are not replayed).
 * Publishing never waits on a dead Redis; subscriptions are made again when Redis is back.
 */
export class RedisPubSub implements PubSub {
  readonly kind = 'redis';
  /** Tags what this node publishes, so the echo from Redis can be told apart. */
  private readonly origin = randomUUID();
  private readonly publisher: RedisLink;
  private readonly subscriber: RedisLink;
  private readonly handlers = new Map<string, Set<(message: unknown) => void>>();
  private localOnly = 0;
  private publishFailing = false;

  constructor(url: string, private readonly logger: Logger, options: { timeoutMs?: number } = {}) {
    this.publisher = new RedisLink(url, {
      purpose: 'pubsub publisher',
      degradesTo: 'messages published here reach this node only',
      logger,
      timeoutMs: options.timeoutMs,
      redis: { enableAutoPipelining: true },
    });
    // No ready check on the subscriber: ioredis sends INFO for it, which a connection that already
    // sent SUBSCRIBE refuses. Channels are (re)subscribed here on every ready, from `handlers`: a
    // subscription made while Redis was gone, or dropped with the connection, comes back with it.
    this.subscriber = new RedisLink(url, {
      purpose: 'pubsub subscriber',
      degradesTo: 'this node hears only its own messages',
      logger,
      timeoutMs: options.timeoutMs,
      redis: { enableReadyCheck: false, autoResubscribe: false },
    });
    this.subscriber.client.on('ready', () => this.resubscribe());
    this.subscriber.client.on('message', (channel: string, raw: string) => this.fromRedis(channel, raw));
  }

  /** Messages that reached this node only, because Redis could not take them. */
  get localOnlyPublishes(): number {
    return this.localOnly;
  }

  async publish(channel: string, message: unknown): Promise<void> {
    const json = JSON.stringify(message);
    // Asynchronously and as a copy, as a message from Redis arrives.
    queueMicrotask(() => this.deliver(channel, JSON.parse(json) as unknown));
    try {
      await this.publisher.call((redis) => redis.publish(PREFIX + channel, `{"origin":${JSON.stringify(this.origin)},"message":${json}}`));
    } catch (error) {
      this.localOnly++;
      if (!this.publishFailing) {
        this.publishFailing = true;
        this.logger.warn({ err: error, channel }, 'could not publish to Redis: delivered on this node only until Redis is back');
      }
      return;
    }
    if (this.publishFailing) {
      this.publishFailing = false;
      this.logger.info('publishing to Redis again: every node hears this node');
    }
  }

  async subscribe(channel: string, handler: (message: unknown) => void): Promise<Unsubscribe> {
    let handlers = this.handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.handlers.set(channel, handlers);
      // Failing here is not fatal: this node's own messages arrive anyway, and `resubscribe`
      // subscribes the channel once the connection is ready again.
      await this.subscriber.call((redis) => redis.subscribe(PREFIX + channel)).catch((error: unknown) => {
        this.logger.debug({ err: error, channel }, 'channel not subscribed on Redis yet; will be when it is back');
      });
    }
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
      if (handlers.size === 0 && this.handlers.get(channel) === handlers) {
        this.handlers.delete(channel);
        // A connection that dropped meanwhile comes back without this channel (`resubscribe`).
        await this.subscriber.call((redis) => redis.unsubscribe(PREFIX + channel)).catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    this.handlers.clear();
    await Promise.allSettled([this.publisher.close(), this.subscriber.close()]);
  }

  private resubscribe(): void {
    const channels = [...this.handlers.keys()].map((channel) => PREFIX + channel);
    if (channels.length === 0) return;
    this.subscriber.client.subscribe(...channels).catch((error: unknown) => {
      // The connection dropped again: the next ready tries again.
      this.logger.warn({ err: error, channels: channels.length }, 'could not subscribe again after reconnecting to Redis');
    });
  }

  private fromRedis(prefixed: string, raw: string): void {
    const channel = prefixed.slice(PREFIX.length);
    if (!this.handlers.has(channel)) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      this.logger.warn({ channel }, 'ignored a pubsub message that is not JSON');
      return;
    }
    // A bare message comes from a node that predates envelopes (a rolling upgrade).
    if (!isEnvelope(parsed)) return this.deliver(channel, parsed);
    if (parsed.origin !== this.origin) this.deliver(channel, parsed.message);
  }

  private deliver(channel: string, message: unknown): void {
    for (const handler of this.handlers.get(channel) ?? []) {
      try {
        handler(message);
      } catch (error) {
        // One failing handler must not keep the message from the others (nor crash the process).
        this.logger.error({ err: error, channel }, 'a pubsub handler failed');
      }
    }
  }
}
