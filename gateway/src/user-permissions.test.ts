// The gateway's permission cache against a hand-written authz stand-in (a real HTTP server): it
// caches, drops entries on change notices and polls, never caches a load that raced a change, and
// fails closed.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InternalTokenMinter } from '@citadel/kit/auth';
import { generateSigningKey } from '@citadel/kit/keys';
import { createLogger } from '@citadel/kit/logger';
import { MemoryPubSub } from '@citadel/kit/pubsub';
import { PERMISSIONS_CHANGED_CHANNEL, UserPermissions } from './user-permissions';

/** What the stand-in answers: permissions per user, the change log, and a switch to fail. */
const authz = {
  permissions: new Map<string, string[]>(),
  seq: 0,
  changed: [] as { seq: number; userId: string | null }[],
  loads: 0,
  failing: false,
  /** Resolves a held effective-permissions answer; set to hold the next one. */
  hold: undefined as Promise<void> | undefined,
};
let server: Server;
let url: string;
let minter: InternalTokenMinter;
const logger = createLogger('test', 'silent');

beforeAll(async () => {
  minter = new InternalTokenMinter(await generateSigningKey());
  server = createServer((req, res) => {
    void (async () => {
      if (authz.failing) return res.writeHead(503).end();
      if (req.url?.startsWith('/internal/changes')) {
        const after = Number(new URL(req.url, 'http://x').searchParams.get('after'));
        const newer = authz.changed.filter((c) => c.seq > after);
        const userIds = newer.some((c) => c.userId === null) ? null : newer.map((c) => c.userId!);
        return res.end(JSON.stringify({ seq: authz.seq, userIds: after >= authz.seq ? [] : userIds }));
      }
      let body = '';
      for await (const chunk of req) body += String(chunk);
      const { userId } = JSON.parse(body) as { userId: string };
      authz.loads++;
      const answer = [...(authz.permissions.get(userId) ?? [])];
      if (authz.hold) await authz.hold;
      res.end(JSON.stringify({ permissions: answer, seq: authz.seq }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  Object.assign(authz, { permissions: new Map(), seq: 0, changed: [], loads: 0, failing: false, hold: undefined });
});

function change(userId: string | null, permissions?: string[]) {
  authz.seq += 1;
  authz.changed.push({ seq: authz.seq, userId });
  if (userId && permissions) authz.permissions.set(userId, permissions);
}

async function started(pollMs = 60_000) {
  const pubsub = new MemoryPubSub();
  const cache = new UserPermissions({ authzUrl: url, minter, pubsub, logger, pollMs });
  await cache.start();
  return { cache, pubsub };
}

describe('user permissions cache', () => {
  it('loads once per user and serves the cache after', async () => {
    authz.permissions.set('u1', ['a.b.c']);
    const { cache } = await started();
    expect(cache.ready).toBe(true);
    expect(await Promise.all([cache.get('u1'), cache.get('u1')])).toEqual([['a.b.c'], ['a.b.c']]);
    expect(await cache.get('u1')).toEqual(['a.b.c']);
    expect(authz.loads).toBe(1);
    await cache.stop();
  });

  it('drops exactly the users a change notice names, or everyone for null', async () => {
    authz.permissions.set('u1', ['x.y.z']);
    authz.permissions.set('u2', ['x.y.z']);
    const { cache, pubsub } = await started();
    await cache.get('u1');
    await cache.get('u2');
    authz.permissions.set('u1', []);
    authz.permissions.set('u2', []);
    await pubsub.publish(PERMISSIONS_CHANGED_CHANNEL, { seq: 1, userIds: ['u1'] });
    await new Promise((r) => setTimeout(r, 5));
    expect(await cache.get('u1')).toEqual([]);
    expect(await cache.get('u2')).toEqual(['x.y.z']);
    await pubsub.publish(PERMISSIONS_CHANGED_CHANNEL, { seq: 2, userIds: null });
    await new Promise((r) => setTimeout(r, 5));
    expect(await cache.get('u2')).toEqual([]);
    await cache.stop();
  });

  it('catches up from the change log when no notice arrives (no Redis, a lost message)', async () => {
    authz.permissions.set('u1', ['old.perm.x']);
    const { cache } = await started(50);
    expect(await cache.get('u1')).toEqual(['old.perm.x']);
    change('u1', ['new.perm.x']);
    await new Promise((r) => setTimeout(r, 200));
    expect(await cache.get('u1')).toEqual(['new.perm.x']);
    await cache.stop();
  });

  it('does not cache an answer that raced a change notice', async () => {
    authz.permissions.set('u1', ['stale.perm.x']);
    const { cache } = await started();
    let release!: () => void;
    authz.hold = new Promise<void>((resolve) => (release = resolve));
    const loadsBefore = authz.loads;
    const racing = cache.get('u1');
    // Regression: a fixed 20 ms wait here failed under CI load, before the stand-in had read anything.
    await expect.poll(() => authz.loads, { timeout: 5_000, interval: 5 }).toBe(loadsBefore + 1); // authz has read the old permissions
    authz.permissions.set('u1', []);
    cache.invalidate(['u1']);
    authz.hold = undefined;
    release();
    expect(await racing).toEqual(['stale.perm.x']); // that request already started with them
    expect(await cache.get('u1')).toEqual([]); // but they were not kept
    await cache.stop();
  });

  it('fails closed when authz cannot answer, and does not cache the failure', async () => {
    authz.permissions.set('u1', ['a.b.c']);
    const { cache } = await started();
    authz.failing = true;
    expect(await cache.get('u1')).toEqual([]);
    authz.failing = false;
    expect(await cache.get('u1')).toEqual(['a.b.c']);
    await cache.stop();
  });
});
