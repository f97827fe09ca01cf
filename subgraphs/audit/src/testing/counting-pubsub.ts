// A pubsub that passes everything to a real one and counts the handlers subscribed per channel, so
// tests can assert that subscriptions leave no handler behind (state, not timing).
import type { PubSub, Unsubscribe } from '@citadel/kit/pubsub';

export class CountingPubSub implements PubSub {
  private readonly counts = new Map<string, number>();

  constructor(private readonly inner: PubSub) {}

  get kind(): PubSub['kind'] {
    return this.inner.kind;
  }

  handlers(channel: string): number {
    return this.counts.get(channel) ?? 0;
  }

  publish(channel: string, message: unknown): Promise<void> {
    return this.inner.publish(channel, message);
  }

  async subscribe(channel: string, handler: (message: unknown) => void): Promise<Unsubscribe> {
    const unsubscribe = await this.inner.subscribe(channel, handler);
    this.counts.set(channel, this.handlers(channel) + 1);
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      this.counts.set(channel, this.handlers(channel) - 1);
      await unsubscribe();
    };
  }

  close(): Promise<void> {
    this.counts.clear();
    return this.inner.close();
  }
}
