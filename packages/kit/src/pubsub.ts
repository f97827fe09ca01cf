// Publish/subscribe with two real backends: Redis when REDIS_URL is set (every node sees every
// event), in-memory otherwise (one process: the documented single-node default).
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export type Unsubscribe = () => Promise<void>;

export interface PubSub {
  readonly kind: 'redis' | 'memory';
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

export class RedisPubSub implements PubSub {
  readonly kind = 'redis';
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, Set<(message: unknown) => void>>();

  constructor(url: string, private readonly logger: Logger) {
    const options = { maxRetriesPerRequest: 3, enableAutoPipelining: true, lazyConnect: false };
    this.publisher = new Redis(url, options);
    // No ready check on the subscriber: ioredis sends INFO for it, which a connection that already
    // sent SUBSCRIBE (a subscribe made between connect and ready) refuses; it then reconnects
    // without the subscription, and that channel stays silent for good.
    this.subscriber = new Redis(url, { ...options, enableReadyCheck: false });
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', (error: Error) => this.logger.warn({ err: error }, 'redis connection error'));
    }
    this.subscriber.on('message', (channel: string, raw: string) => {
      const handlers = this.handlers.get(channel.slice(PREFIX.length));
      if (!handlers) return;
      let message: unknown;
      try {
        message = JSON.parse(raw);
      } catch {
        this.logger.warn({ channel }, 'ignored a pubsub message that is not JSON');
        return;
      }
      for (const handler of handlers) handler(message);
    });
  }

  async publish(channel: string, message: unknown): Promise<void> {
    await this.publisher.publish(PREFIX + channel, JSON.stringify(message));
  }

  async subscribe(channel: string, handler: (message: unknown) => void): Promise<Unsubscribe> {
    let handlers = this.handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.handlers.set(channel, handlers);
      await this.subscriber.subscribe(PREFIX + channel);
    }
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
      if (handlers.size === 0) {
        this.handlers.delete(channel);
        await this.subscriber.unsubscribe(PREFIX + channel);
      }
    };
  }

  async close(): Promise<void> {
    this.handlers.clear();
    await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
  }
}
