// The live feed behind auditEventRecorded. One pubsub handler per process receives the ids of each
// committed batch (from every audit instance, with Redis), reads those events once, and hands each
// to the subscriptions whose filter it matches, in seq order, through each one's bounded stream.
import { EventStream } from '@citadel/kit/event-stream';
import type { Logger } from '@citadel/kit/logger';
import type { PubSub, Unsubscribe } from '@citadel/kit/pubsub';
import { subscriptionInterrupted } from '../audit.errors';
import type { StoredEvent } from '../chain/canonical';
import { RECORDED_CHANNEL } from './ingest.service';
import { liveFilter, type EventMatcher, type LiveEventFilter } from './live-filter';

export interface RecordedEventFeedOptions {
  pubsub: PubSub;
  /** The stored events among these ids, in seq order (ids another database holds are simply absent). */
  load: (ids: readonly string[]) => Promise<StoredEvent[]>;
  logger: Logger;
  /** Events queued for a subscription that has not caught up; one more ends it. Default 1,000. */
  maxQueue?: number;
}

interface Subscriber {
  matches: EventMatcher;
  stream: EventStream<StoredEvent>;
}

/** More ids than any batch holds (a group commit appends at most 2,000): a message to refuse. */
const MAX_IDS = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class RecordedEventFeed {
  private readonly subscribers = new Set<Subscriber>();
  private readonly maxQueue: number;
  private unsubscribe: Unsubscribe | undefined;
  /** Batches are read and handed out one after another, so each subscription sees them in order. */
  private delivering: Promise<void> = Promise.resolve();

  constructor(private readonly options: RecordedEventFeedOptions) {
    this.maxQueue = options.maxQueue ?? 1_000;
  }

  /** Subscriptions open on this process. */
  get size(): number {
    return this.subscribers.size;
  }

  /** Subscribes this process's one handler; resolves once pubsub confirmed it. */
  async start(): Promise<void> {
    this.unsubscribe ??= await this.options.pubsub.subscribe(RECORDED_CHANNEL, (message) => this.received(message));
  }

  /** Ends every subscription and drops the handler (shutdown). */
  async stop(): Promise<void> {
    for (const subscriber of [...this.subscribers]) subscriber.stream.end();
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    await unsubscribe?.();
    await this.delivering;
  }

  /**
   * A subscription: events recorded from now on that match `filter`. An invalid filter throws
   * (BAD_USER_INPUT) before anything is registered; however the stream ends, it is unregistered.
   */
  open(filter: LiveEventFilter): EventStream<StoredEvent> {
    const matches = liveFilter(filter);
    const subscriber: Subscriber = {
      matches,
      stream: new EventStream<StoredEvent>({
        maxQueue: this.maxQueue,
        onClose: () => {
          this.subscribers.delete(subscriber);
        },
        overflow: () => subscriptionInterrupted('SLOW_READER', `More than ${this.maxQueue} events waited for this subscription`),
      }),
    };
    this.subscribers.add(subscriber);
    return subscriber.stream;
  }

  /** Hands events (in seq order) to every subscription whose filter matches. */
  dispatch(events: readonly StoredEvent[]): void {
    for (const event of events) {
      // A stream that overflows here unregisters itself at once; a Set skips what was deleted.
      for (const subscriber of this.subscribers) if (subscriber.matches(event)) subscriber.stream.push(event);
    }
  }

  private received(message: unknown): void {
    if (this.subscribers.size === 0) return;
    const ids = recordedIds(message);
    if (!ids) {
      this.options.logger.warn('ignored a malformed audit.events.recorded message');
      return;
    }
    this.delivering = this.delivering
      .then(() => this.deliver(ids))
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'could not hand recorded audit events to live subscriptions'));
  }

  private async deliver(ids: string[]): Promise<void> {
    let events: StoredEvent[];
    try {
      events = await this.options.load(ids);
    } catch (error) {
      // Skipping the batch would leave holes no subscriber could see: end them, so each catches up.
      this.options.logger.error({ err: error, events: ids.length }, 'could not read recorded audit events for live subscriptions');
      for (const subscriber of [...this.subscribers]) subscriber.stream.end(subscriptionInterrupted('READ_FAILED', 'Recorded events could not be read'));
      return;
    }
    this.dispatch(events);
  }
}

/** The ids of a `{ firstSeq, lastSeq, ids }` message, or null when it is not one. */
function recordedIds(message: unknown): string[] | null {
  const ids = (message as { ids?: unknown } | null)?.ids;
  if (!Array.isArray(ids) || ids.length > MAX_IDS) return null;
  return ids.every((id): id is string => typeof id === 'string' && UUID.test(id)) ? ids : null;
}
