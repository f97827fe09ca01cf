// The live feed with the in-memory pubsub and a hand-written store: one read per batch whatever the
// number of subscriptions, each gets its matches in order, and every way a subscription ends (slow
// reader, failed read, unsubscribe, shutdown) unregisters it.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryPubSub } from '@citadel/kit/pubsub';
import type { StoredEvent } from '../chain/canonical';
import { CountingPubSub } from '../testing/counting-pubsub';
import { RECORDED_CHANNEL, type RecordedMessage } from './ingest.service';
import { RecordedEventFeed } from './recorded-feed';

const logger = pino({ level: 'silent' });

function stored(seq: number, action = 'identity.login.succeeded'): StoredEvent {
  return {
    seq,
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    occurredAt: '2026-01-01T00:00:00.000000Z',
    recordedAt: '2026-01-01T00:00:00.000000Z',
    service: 'identity',
    actorType: 'anonymous',
    actorId: null,
    actorSessionId: null,
    action,
    targetType: null,
    targetId: null,
    outcome: 'success',
    reason: null,
    ip: null,
    userAgent: null,
    requestId: null,
    traceId: null,
    operationName: null,
    changes: null,
    prevHash: '0'.repeat(64),
    hash: '1'.repeat(64),
  };
}

/** A store holding `events`; counts reads; fails while `failing` is set. */
function store(events: StoredEvent[]) {
  const byId = new Map(events.map((e) => [e.id, e]));
  const state = { reads: 0, failing: false };
  const load = async (ids: readonly string[]) => {
    state.reads++;
    if (state.failing) throw new Error('database unavailable');
    return ids.flatMap((id) => byId.get(id) ?? []).sort((a, b) => a.seq - b.seq);
  };
  return { state, load };
}

const message = (...events: StoredEvent[]): RecordedMessage => ({ firstSeq: events[0]!.seq, lastSeq: events.at(-1)!.seq, ids: events.map((e) => e.id) });

async function started(events: StoredEvent[], maxQueue?: number) {
  const pubsub = new CountingPubSub(new MemoryPubSub());
  const { state, load } = store(events);
  const feed = new RecordedEventFeed({ pubsub, load, logger, ...(maxQueue ? { maxQueue } : {}) });
  await feed.start();
  return { pubsub, state, feed };
}

const next = async (stream: AsyncIterator<StoredEvent>) => (await stream.next()).value as StoredEvent;

describe('RecordedEventFeed', () => {
  it('reads each batch once for every subscription and hands each its matching events in seq order', async () => {
    const events = [stored(1), stored(2, 'identity.password.changed'), stored(3), stored(4)];
    const { pubsub, state, feed } = await started(events);
    const all = feed.open({});
    const logins = feed.open({ action: 'identity.login.' });
    await pubsub.publish(RECORDED_CHANNEL, message(events[0]!, events[1]!, events[2]!));
    await pubsub.publish(RECORDED_CHANNEL, message(events[3]!));
    expect([await next(all), await next(all), await next(all), await next(all)].map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect([await next(logins), await next(logins), await next(logins)].map((e) => e.seq)).toEqual([1, 3, 4]);
    expect(state.reads).toBe(2);
    expect(pubsub.handlers(RECORDED_CHANNEL)).toBe(1);
  });

  it('reads nothing while no one subscribes, and ignores malformed messages and unknown ids', async () => {
    const events = [stored(1), stored(2)];
    const { pubsub, state, feed } = await started(events);
    await pubsub.publish(RECORDED_CHANNEL, message(events[0]!));
    const live = feed.open({});
    await pubsub.publish(RECORDED_CHANNEL, { firstSeq: 1, lastSeq: 1 });
    await pubsub.publish(RECORDED_CHANNEL, { ids: ['not-an-id'] });
    // Another chain's batch (another database on the same Redis): its ids are not ours.
    await pubsub.publish(RECORDED_CHANNEL, message(stored(99)));
    await pubsub.publish(RECORDED_CHANNEL, message(events[1]!));
    expect((await next(live)).seq).toBe(2);
    expect(state.reads).toBe(2);
  });

  it(`ends a subscription more than maxQueue events behind with SUBSCRIPTION_INTERRUPTED and unregisters it`, async () => {
    const { feed } = await started([], 1_000);
    const slow = feed.open({});
    const other = feed.open({ action: 'authz.' });
    feed.dispatch(Array.from({ length: 1_001 }, (_, i) => stored(i + 1)));
    expect(slow.isClosed).toBe(true);
    expect(feed.size).toBe(1);
    await expect(slow.next()).rejects.toMatchObject({ extensions: { code: 'SUBSCRIPTION_INTERRUPTED', reason: 'SLOW_READER' } });
    expect(other.isClosed).toBe(false);
  });

  it('ends every subscription with SUBSCRIPTION_INTERRUPTED when a batch cannot be read, rather than skip it', async () => {
    const events = [stored(1)];
    const { pubsub, state, feed } = await started(events);
    const a = feed.open({});
    const b = feed.open({ action: 'identity.' });
    state.failing = true;
    await pubsub.publish(RECORDED_CHANNEL, message(events[0]!));
    await expect(a.next()).rejects.toMatchObject({ extensions: { code: 'SUBSCRIPTION_INTERRUPTED', reason: 'READ_FAILED' } });
    await expect(b.next()).rejects.toMatchObject({ extensions: { code: 'SUBSCRIPTION_INTERRUPTED' } });
    expect(feed.size).toBe(0);
  });

  it('unregisters a subscription the reader returns, even while it waits for an event', async () => {
    const { feed } = await started([]);
    const live = feed.open({});
    const waiting = live.next();
    await live.return();
    await expect(waiting).resolves.toEqual({ value: undefined, done: true });
    expect(feed.size).toBe(0);
  });

  it('ends open subscriptions and drops its one handler on stop', async () => {
    const { pubsub, feed } = await started([]);
    const live = feed.open({});
    await feed.stop();
    await expect(live.next()).resolves.toEqual({ value: undefined, done: true });
    expect(feed.size).toBe(0);
    expect(pubsub.handlers(RECORDED_CHANNEL)).toBe(0);
  });
});
