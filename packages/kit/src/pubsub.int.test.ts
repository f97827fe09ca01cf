// Both backends deliver JSON messages to every subscriber; with Redis, across separate connections
// (standing in for separate nodes), exactly once each, and on the publishing node even while Redis
// is gone (a relay standing between one node and Redis is cut, then restored).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryPubSub, RedisPubSub, type PubSub } from './pubsub';
import { tcpRelay } from './testing/tcp-relay';

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
      const subscriber = (node as unknown as { subscriber: { client: { once(event: string, cb: () => void): void } } }).subscriber.client;
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!REDIS_URL)('RedisPubSub delivery on the publishing node', () => {
  it('delivers each message exactly once to every subscriber, the publishing node\'s own included', async () => {
    const nodeA = new RedisPubSub(REDIS_URL!, logger);
    const nodeB = new RedisPubSub(REDIS_URL!, logger);
    const channel = `test-once-${Date.now()}-${Math.random()}`;
    try {
      const [a1, a2, b] = [received(nodeA, channel), received(nodeA, channel), received(nodeB, channel)];
      await Promise.all([a1.ready, a2.ready, b.ready]);
      for (let n = 1; n <= 3; n++) await nodeA.publish(channel, { n });
      await expect.poll(() => b.messages, { timeout: 3_000 }).toHaveLength(3);
      // Time for a duplicate (the echo from Redis) to arrive, had it not been skipped.
      await sleep(300);
      for (const got of [a1, a2, b]) expect(got.messages).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      expect(nodeA.localOnlyPublishes).toBe(0);
    } finally {
      await nodeA.close();
      await nodeB.close();
    }
  });
});

describe.skipIf(!REDIS_URL)('RedisPubSub while Redis is unreachable', () => {
  it('delivers on the publishing node only, without waiting, and across nodes again once Redis is back', async () => {
    const relay = await tcpRelay(REDIS_URL!);
    // Node A reaches Redis through the relay; node B directly.
    const nodeA = new RedisPubSub(relay.url, logger);
    const nodeB = new RedisPubSub(REDIS_URL!, logger);
    const channel = `test-outage-${Date.now()}-${Math.random()}`;
    const later = `${channel}-later`;
    try {
      const [onA, onB] = [received(nodeA, channel), received(nodeB, channel)];
      await Promise.all([onA.ready, onB.ready]);
      await relay.cut();

      const publishTimes: number[] = [];
      for (let n = 1; n <= 3; n++) {
        const started = performance.now();
        await nodeA.publish(channel, { n });
        publishTimes.push(Math.round(performance.now() - started));
      }
      await expect.poll(() => onA.messages).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      expect(Math.max(...publishTimes)).toBeLessThan(1_500);
      expect(nodeA.localOnlyPublishes).toBe(3);
      // Subscribing while Redis is gone works too: it hears its own node now, every node later.
      const subscribeStarted = performance.now();
      const onALater = received(nodeA, later);
      await onALater.ready;
      const subscribeMs = Math.round(performance.now() - subscribeStarted);
      expect(subscribeMs).toBeLessThan(1_500);
      await nodeA.publish(later, { local: true });
      await expect.poll(() => onALater.messages).toEqual([{ local: true }]);
      await sleep(300);
      expect(onB.messages).toEqual([]); // the documented degrade: other nodes miss them

      await relay.restore();
      const restored = performance.now();
      // B to A: A's subscriber connection is back and subscribed again, to both channels.
      await expect
        .poll(async () => {
          await nodeB.publish(later, { fromB: true });
          return onALater.messages.length;
        }, { timeout: 15_000, interval: 100 })
        .toBeGreaterThan(1);
      const backMs = Math.round(performance.now() - restored);
      await nodeB.publish(channel, { fromB: 1 });
      await expect.poll(() => onA.messages).toContainEqual({ fromB: 1 });
      // A to B: A's publisher is back too.
      await expect
        .poll(async () => {
          await nodeA.publish(channel, { fromA: true });
          return onB.messages.length;
        }, { timeout: 15_000, interval: 100 })
        .toBeGreaterThan(0);
      console.log(`pubsub: publish took ${publishTimes.join(', ')} ms and subscribe ${subscribeMs} ms while Redis was gone; messages crossed nodes again ${backMs} ms after it was back`);
    } finally {
      await nodeA.close();
      await nodeB.close();
      await relay.cut();
    }
  });
});
