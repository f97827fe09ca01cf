// An async iterator fed by pushes (pubsub messages, upstream events), with a bounded queue. Unlike
// an async generator, `return()` takes effect at once even while a `next()` is waiting: a client
// that unsubscribes never leaves a listener behind waiting for one more event.

export interface EventStreamOptions {
  /** Events kept for a reader that has not caught up; one more ends the stream with `overflow`. */
  maxQueue?: number;
  /** Runs once when the stream ends, whichever way (return, end, overflow): unsubscribe here. */
  onClose?: () => void | Promise<void>;
  /** What the stream ends with when the queue overflows (thrown to the reader). */
  overflow?: () => unknown;
}

type Waiter<T> = { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void };

export class EventStream<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private readonly waiters: Waiter<T>[] = [];
  private closed = false;
  /** Thrown to the reader after the queue drains. */
  private failure: { error: unknown } | undefined;
  private readonly maxQueue: number;

  constructor(private readonly options: EventStreamOptions = {}) {
    this.maxQueue = options.maxQueue ?? 1_000;
  }

  get size(): number {
    return this.queue.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Hands an event to the reader; false (and the stream ends) when the queue is full. */
  push(value: T): boolean {
    if (this.closed) return false;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve({ value, done: false });
      return true;
    }
    if (this.queue.length >= this.maxQueue) {
      this.queue.length = 0;
      this.end(this.options.overflow?.() ?? new Error(`More than ${this.maxQueue} events waiting for a slow reader`));
      return false;
    }
    this.queue.push(value);
    return true;
  }

  /** Ends the stream: the reader gets what is queued, then `error` (if given) or done. */
  end(error?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (error !== undefined) this.failure = { error };
    void this.cleanup();
    // Waiters exist only when the queue is empty.
    for (const waiter of this.waiters.splice(0)) {
      if (this.failure) {
        waiter.reject(this.failure.error);
        this.failure = undefined;
      } else waiter.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift() as T, done: false });
    if (this.closed) {
      if (this.failure) {
        const { error } = this.failure;
        this.failure = undefined;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The reader is done (a client unsubscribed): drop what is queued and close now. */
  async return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.failure = undefined;
    this.end();
    return { value: undefined, done: true };
  }

  async throw(error?: unknown): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.end();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private cleanupPromise: Promise<void> | undefined;

  /** Resolves once onClose has run (tests and shutdown wait for it). */
  closedPromise(): Promise<void> {
    return this.cleanupPromise ?? Promise.resolve();
  }

  private cleanup(): Promise<void> {
    this.cleanupPromise ??= (async () => {
      try {
        await this.options.onClose?.();
      } catch {
        // Unsubscribing is best effort; the stream is closed either way.
      }
    })();
    return this.cleanupPromise;
  }
}

/**
 * Maps each event of `source` through `map` (awaited, in order). `return()` is passed on to the
 * source at once, so unsubscribing from the mapped stream closes the source too; so does an error
 * from `map` or the source, which ends the mapped stream.
 */
export function mapEvents<T, U>(source: AsyncIterator<T>, map: (value: T) => Promise<U> | U): AsyncIterableIterator<U> {
  let done = false;
  const finish = async (): Promise<IteratorResult<U>> => {
    if (!done) {
      done = true;
      await source.return?.();
    }
    return { value: undefined, done: true };
  };
  return {
    async next(): Promise<IteratorResult<U>> {
      if (done) return { value: undefined, done: true };
      try {
        const result = await source.next();
        if (result.done || done) {
          done = true;
          return { value: undefined, done: true };
        }
        return { value: await map(result.value), done: false };
      } catch (error) {
        // The reader sees the error and stops reading: the source must not be left subscribed.
        await finish().catch(() => undefined);
        throw error;
      }
    },
    return: finish,
    async throw(error?: unknown): Promise<IteratorResult<U>> {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
