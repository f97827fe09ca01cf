import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { clientKey, releasingOnEnd, WsLimits } from './ws-limits';

const limits = (maxConnectionsPerClient = 2, maxSubscriptionsPerClient = 3) => new WsLimits({ maxConnectionsPerClient, maxSubscriptionsPerClient });

describe('WsLimits connections', () => {
  it('admits up to the maximum per client, and other clients independently', () => {
    const l = limits();
    expect(l.connect('user:a')).toBeDefined();
    expect(l.connect('user:a')).toBeDefined();
    expect(l.connect('user:a')).toBeUndefined();
    expect(l.connect('user:b')).toBeDefined();
    expect(l.connections('user:a')).toBe(2);
  });

  it('frees the slot when the socket closes, once however often close is called', () => {
    const l = limits();
    const first = l.connect('ip:1')!;
    l.connect('ip:1');
    first.close();
    first.close();
    expect(l.connections('ip:1')).toBe(1);
    expect(l.connect('ip:1')).toBeDefined();
    expect(l.connect('ip:1')).toBeUndefined();
  });

  it('forgets a client holding nothing', () => {
    const l = limits();
    const socket = l.connect('user:a')!;
    socket.subscribe()!();
    socket.close();
    expect(l.clients).toBe(0);
  });

  it('rejects limits that are not positive integers', () => {
    expect(() => limits(0, 1)).toThrow(RangeError);
    expect(() => limits(1, 1.5)).toThrow(RangeError);
  });
});

describe('WsLimits subscriptions', () => {
  it("counts across all of a client's sockets", () => {
    const l = limits(2, 3);
    const [one, two] = [l.connect('user:a')!, l.connect('user:a')!];
    expect(one.subscribe()).toBeDefined();
    expect(two.subscribe()).toBeDefined();
    expect(one.subscribe()).toBeDefined();
    expect(two.subscribe()).toBeUndefined();
    expect(l.connect('user:b')!.subscribe()).toBeDefined();
    expect(l.subscriptions('user:a')).toBe(3);
  });

  it('gives a slot back once, however often it is released', () => {
    const l = limits(1, 2);
    const socket = l.connect('user:a')!;
    const release = socket.subscribe()!;
    socket.subscribe();
    release();
    release();
    expect(l.subscriptions('user:a')).toBe(1);
    expect(socket.subscribe()).toBeDefined();
    expect(socket.subscribe()).toBeUndefined();
  });

  it("frees a closed socket's subscriptions, and their later releases change nothing", () => {
    const l = limits(2, 3);
    const [closing, staying] = [l.connect('user:a')!, l.connect('user:a')!];
    const releases = [closing.subscribe()!, closing.subscribe()!];
    staying.subscribe();
    closing.close();
    expect(l.subscriptions('user:a')).toBe(1);
    for (const release of releases) release();
    expect(l.subscriptions('user:a')).toBe(1);
    expect(l.connections('user:a')).toBe(1);
  });

  it('counts nothing for a subscription that starts after its socket closed', () => {
    const l = limits(1, 1);
    const socket = l.connect('user:a')!;
    socket.close();
    expect(socket.subscribe()).toBeDefined();
    expect(l.subscriptions('user:a')).toBe(0);
    expect(l.clients).toBe(0);
  });

  it('answers over the limit with TOO_MANY_SUBSCRIPTIONS', () => {
    const error = limits(1, 4).connect('user:a')!.tooMany();
    expect(error.extensions).toEqual({ code: 'TOO_MANY_SUBSCRIPTIONS', limit: 4 });
    expect(error.message).toBe('Too many subscriptions for this client (at most 4 at once); end one first');
  });

  it('counts refusals by reason in citadel_gateway_ws_refused_total', async () => {
    const registry = new Registry();
    const l = limits(1, 1);
    l.useMetrics(registry);
    const socket = l.connect('user:a')!;
    l.connect('user:a');
    socket.subscribe();
    socket.subscribe();
    socket.subscribe();
    const text = await registry.metrics();
    expect(text).toContain('citadel_gateway_ws_refused_total{reason="connections"} 1');
    expect(text).toContain('citadel_gateway_ws_refused_total{reason="subscriptions"} 2');
  });
});

describe('clientKey', () => {
  it('is the user when known, else the address', () => {
    expect(clientKey({ userId: 'u1' }, '10.0.0.1')).toBe('user:u1');
    expect(clientKey({ userId: null }, '10.0.0.1')).toBe('ip:10.0.0.1');
    expect(clientKey({ userId: null }, null)).toBe('ip:unknown');
  });
});

/** An iterator whose next() waits until `push` or `end`, like a subscription between events. */
function source() {
  let waiting: ((step: IteratorResult<number>) => void) | undefined;
  const state = { returned: 0 };
  const iterator: AsyncIterator<number> = {
    next: () => new Promise((resolve) => (waiting = resolve)),
    return: async () => {
      state.returned++;
      waiting?.({ value: undefined, done: true });
      return { value: undefined, done: true };
    },
  };
  return { iterator, state, push: (value: number) => waiting?.({ value, done: false }), end: () => waiting?.({ value: undefined, done: true }) };
}

describe('releasingOnEnd', () => {
  const counted = () => {
    const count = { released: 0 };
    return { count, release: () => void count.released++ };
  };

  it('releases when the source is done, not before', async () => {
    const s = source();
    const { count, release } = counted();
    const wrapped = releasingOnEnd(s.iterator, release);
    const first = wrapped.next();
    s.push(1);
    expect(await first).toEqual({ value: 1, done: false });
    expect(count.released).toBe(0);
    const second = wrapped.next();
    s.end();
    expect(await second).toEqual({ value: undefined, done: true });
    expect(count.released).toBe(1);
  });

  it('releases and stops the source at once on return(), even while a next() waits', async () => {
    const s = source();
    const { count, release } = counted();
    const wrapped = releasingOnEnd(s.iterator, release);
    const pending = wrapped.next();
    await wrapped.return!();
    expect(s.state.returned).toBe(1);
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(count.released).toBeGreaterThanOrEqual(1);
  });

  it('releases when the source fails', async () => {
    const { count, release } = counted();
    const failing: AsyncIterator<number> = { next: () => Promise.reject(new Error('gone')) };
    await expect(releasingOnEnd(failing, release).next()).rejects.toThrow('gone');
    expect(count.released).toBe(1);
  });

  it('releases on throw()', async () => {
    const s = source();
    const { count, release } = counted();
    await expect(releasingOnEnd(s.iterator, release).throw!(new Error('stop'))).rejects.toThrow('stop');
    expect(count.released).toBe(1);
  });

  it('is what graphql-ws takes for an async generator (so it calls return() on complete and close)', () => {
    const wrapped = releasingOnEnd(source().iterator, () => {});
    expect(typeof wrapped[Symbol.asyncIterator]).toBe('function');
    expect(typeof wrapped.return).toBe('function');
  });
});
