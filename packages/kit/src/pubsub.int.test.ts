// Both backends deliver JSON messages to every subscriber; with Redis, across separate connections
// (standing in for separate nodes).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryPubSub, RedisPubSub, type PubSub } from './pubsub';

const logger = pino({ level: 'silent' });
const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('Redis pubsub test not run: REDIS_URL is not set (CI sets it)');

const received = (pubsub: PubSub, channel: string) => {
  const messages: unknown[] = [];
  return { messages, ready: pubsub.subscribe(channel, (m) => messages.push(m)) };
};

describe('MemoryPubSub', () => {
  it('delivers a copy to every subscriber, and stops after unsubscribe', async () => {
    const pubsub = new MemoryPubSub();
    const a = received(pubsub, 'c');
    const b = received(pubsub, 'c');
    const stopA = await a.ready;
    await b.ready;
    const message = { id: 1 };
    await pubsub.publish('c', message);
    await expect.poll(() => b.messages).toEqual([{ id: 1 }]);
    expect(a.messages[0]).not.toBe(message);
    await stopA();
    await pubsub.publish('c', { id: 2 });
    await expect.poll(() => b.messages).toHaveLength(2);
    expect(a.messages).toHaveLength(1);
  });
});

describe.skipIf(!REDIS_URL)('RedisPubSub', () => {
  it('delivers a message published on one node to subscribers on another', async () => {
    const nodeA = new RedisPubSub(REDIS_URL!, logger);
    const nodeB = new RedisPubSub(REDIS_URL!, logger);
    const channel = `test-${Date.now()}-${Math.random()}`;
    try {
      const got = received(nodeB, channel);
      await got.ready;
      await nodeA.publish(channel, { sessionIds: ['s-1'] });
      await expect.poll(() => got.messages, { timeout: 3_000 }).toEqual([{ sessionIds: ['s-1'] }]);
    } finally {
      await nodeA.close();
      await nodeB.close();
    }
  });
});

describe.skipIf(!REDIS_URL)('RedisPubSub subscribing while its connection is coming up', () => {
  it('keeps a subscription made between connect and ready', async () => {
    const node = new RedisPubSub(REDIS_URL!, logger);
    const publisher = new RedisPubSub(REDIS_URL!, logger);
    const channel = `test-early-${Date.now()}-${Math.random()}`;
    try {
      const subscriber = (node as unknown as { subscriber: { once(event: string, cb: () => void): void } }).subscriber;
      await new Promise<void>((resolve) => subscriber.once('connect', resolve));
      const got = received(node, channel);
      await got.ready;
      await expect
        .poll(async () => {
          await publisher.publish(channel, { n: 1 });
          return got.messages.length;
        }, { timeout: 5_000, interval: 100 })
        .toBeGreaterThan(0);
    } finally {
      await node.close();
      await publisher.close();
    }
  });
});
