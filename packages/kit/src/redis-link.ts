// One Redis connection that never keeps its caller waiting long. By default ioredis queues commands
// while it is disconnected and fails them only after several reconnect attempts (0.3 s, then 1 s,
// 2 s and more as its backoff grows), so every caller of a dead Redis waits. Here a command fails at
// once while Redis is known to be gone, and within `timeoutMs` otherwise; the connection keeps
// reconnecting on its own, and an outage is logged once when it starts and once when it ends.
import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/** Redis could not be reached (or did not answer in time): nothing is known about the command's effect. */
export class RedisUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisUnavailable';
  }
}

export interface RedisLinkOptions {
  /** What the connection is for, in log lines: "pubsub publisher", "counters". */
  purpose: string;
  /** What callers get while Redis is gone, logged when an outage starts. */
  degradesTo: string;
  logger?: Logger | undefined;
  /** The longest wait for one command, and for the first connection. Default 1000 ms. */
  timeoutMs?: number | undefined;
  redis?: RedisOptions;
}

export class RedisLink {
  readonly client: Redis;
  private readonly timeoutMs: number;
  private connectedOnce = false;
  private down = false;
  private closing = false;
  private connecting: Promise<void> | undefined;

  constructor(url: string, private readonly options: RedisLinkOptions) {
    this.timeoutMs = options.timeoutMs ?? 1_000;
    this.client = new Redis(url, {
      // Nothing waits in a queue for a Redis that is gone; a command sent just before the
      // connection dropped is not sent again later, after its caller was told it failed.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      commandTimeout: this.timeoutMs,
      maxRetriesPerRequest: 1,
      ...options.redis,
    });
    // Without an error listener ioredis prints every failed reconnect to stderr.
    this.client.on('error', (error: Error) => this.wentDown(error));
    this.client.on('close', () => {
      if (this.connectedOnce) this.wentDown(undefined);
    });
    this.client.on('ready', () => {
      this.connectedOnce = true;
      if (!this.down) return;
      this.down = false;
      this.options.logger?.info({ purpose: this.options.purpose }, 'Redis is reachable again');
    });
  }

  /** Runs `command` within `timeoutMs`, or throws RedisUnavailable. Redis's own errors pass as they are. */
  async call<T>(command: (client: Redis) => Promise<T>): Promise<T> {
    if (this.client.status !== 'ready') {
      // Only a connection still being made for the first time is worth waiting for.
      if (this.connectedOnce || this.client.status === 'end') throw new RedisUnavailable(`Redis is unreachable (${this.options.purpose})`);
      await this.firstConnection();
    }
    try {
      return await command(this.client);
    } catch (error) {
      if (error instanceof ReplyError) throw error;
      throw new RedisUnavailable(`Redis did not answer (${this.options.purpose})`, { cause: error });
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.client.quit().catch(() => this.client.disconnect());
  }

  /** One wait shared by every caller (a burst of calls at start-up adds one listener, not one each). */
  private firstConnection(): Promise<void> {
    this.connecting ??= new Promise<void>((resolve, reject) => {
      const ready = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.client.off('ready', ready);
        reject(new RedisUnavailable(`Redis not connected within ${this.timeoutMs} ms (${this.options.purpose})`));
      }, this.timeoutMs);
      this.client.once('ready', ready);
    }).finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private wentDown(error: Error | undefined): void {
    if (this.down || this.closing) return;
    this.down = true;
    this.options.logger?.warn({ err: error, purpose: this.options.purpose }, `Redis is unreachable: ${this.options.degradesTo} until it is back`);
  }
}
