import { describe, expect, it } from 'vitest';
import { EventStream, mapEvents } from './event-stream';

describe('EventStream', () => {
  it('hands pushed events to the reader in order, waiting when there are none', async () => {
    const stream = new EventStream<number>();
    const first = stream.next();
    stream.push(1);
    stream.push(2);
    expect(await first).toEqual({ value: 1, done: false });
    expect(await stream.next()).toEqual({ value: 2, done: false });
  });

  it('closes at once on return() while a read is waiting, and unsubscribes once', async () => {
    let closed = 0;
    const stream = new EventStream<number>({ onClose: () => void closed++ });
    const waiting = stream.next();
    await stream.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    await stream.closedPromise();
    expect(closed).toBe(1);
    expect(stream.push(3)).toBe(false);
    await stream.return();
    expect(closed).toBe(1);
  });

  it('ends with the overflow error when a reader falls more than maxQueue behind', async () => {
    let closed = false;
    const stream = new EventStream<number>({ maxQueue: 2, overflow: () => new Error('slow'), onClose: () => void (closed = true) });
    expect(stream.push(1)).toBe(true);
    expect(stream.push(2)).toBe(true);
    expect(stream.push(3)).toBe(false);
    expect(closed).toBe(true);
    await expect(stream.next()).rejects.toThrow('slow');
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('delivers what is queued before the error it was ended with', async () => {
    const stream = new EventStream<string>();
    stream.push('a');
    stream.end(new Error('removed'));
    expect(await stream.next()).toEqual({ value: 'a', done: false });
    await expect(stream.next()).rejects.toThrow('removed');
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('mapEvents passes return() on to its source', async () => {
    let closed = false;
    const source = new EventStream<number>({ onClose: () => void (closed = true) });
    const mapped = mapEvents(source, (n) => n * 10);
    source.push(4);
    expect(await mapped.next()).toEqual({ value: 40, done: false });
    const waiting = mapped.next();
    await mapped.return!();
    expect(closed).toBe(true);
    expect(await waiting).toEqual({ value: undefined, done: true });
  });

  it('mapEvents closes its source when map throws (a failed subscription left its pubsub listener behind)', async () => {
    let closed = false;
    const source = new EventStream<number>({ onClose: () => void (closed = true) });
    const mapped = mapEvents(source, () => {
      throw new Error('bad event');
    });
    source.push(1);
    await expect(mapped.next()).rejects.toThrow('bad event');
    expect(closed).toBe(true);
    expect(await mapped.next()).toEqual({ value: undefined, done: true });
  });
});
