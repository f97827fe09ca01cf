// createTodo idempotency keys expire: past the TTL a key counts as new, and a periodic purge
// deletes expired keys. Run with a short TTL through the app options.
import { describe, expect, it, vi } from 'vitest';
import { seeder } from './testing/seed';
import { useWorkspaces } from './testing/workspaces-harness';

const TTL_MS = 400;
const h = useWorkspaces({ app: { idempotencyKeyTtlMs: TTL_MS, idempotencyPurgeMs: 50 } });
const seed = seeder(h);

const keysNamed = async (key: string) =>
  (await h.orm.em.fork().getConnection().execute<{ n: number }[]>(`select count(*)::int as "n" from "workspaces"."idempotency_keys" where "key" = ?`, [key]))[0]!.n;

describe('idempotency key expiry', () => {
  it('replays a key within its TTL, and treats it as new once it expired', async () => {
    const ws = await seed.workspace();
    const first = await seed.todo(ws.owner, { workspaceId: ws.id, title: 'Once', idempotencyKey: 'k-replay' });
    expect((await seed.todo(ws.owner, { workspaceId: ws.id, title: 'Once', idempotencyKey: 'k-replay' })).id).toBe(first.id);
    await new Promise((resolve) => setTimeout(resolve, TTL_MS + 100));
    // Different input, same key: no IDEMPOTENCY_KEY_REUSED once the key expired.
    const again = await seed.todo(ws.owner, { workspaceId: ws.id, title: 'Another', idempotencyKey: 'k-replay' });
    expect(again.id).not.toBe(first.id);
    expect((await seed.todo(ws.owner, { workspaceId: ws.id, title: 'Another', idempotencyKey: 'k-replay' })).id).toBe(again.id);
  });

  it('purges expired keys in the background', async () => {
    const ws = await seed.workspace();
    await seed.todo(ws.owner, { workspaceId: ws.id, title: 'Purged', idempotencyKey: 'k-purge' });
    expect(await keysNamed('k-purge')).toBe(1);
    await vi.waitFor(async () => expect(await keysNamed('k-purge')).toBe(0), { timeout: 5_000, interval: 50 });
  });
});
