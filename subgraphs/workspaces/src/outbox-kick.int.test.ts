// An event's commit starts its delivery at once, whatever other transactions commit meanwhile:
// with the poll an hour away, only the commit's own kick can deliver it.
import { Outbox } from '@citadel/kit/outbox';
import type { EntityManager } from '@mikro-orm/postgresql';
import { describe, expect, it, vi } from 'vitest';
import { useWorkspaces } from './testing/workspaces-harness';

const h = useWorkspaces({ app: { outboxPollMs: 3_600_000 } });
const outbox = new Outbox('workspaces');

describe('outbox delivery after commit', () => {
  it('delivers an event whose transaction committed after another transaction (the relay pass) did', async () => {
    const em = h.orm.em.fork() as EntityManager;
    let id = '';
    await em.transactional(async (tx) => {
      id = outbox.add(tx, { action: 'workspaces.workspace.touch', target: { type: 'Workspace', id: 'w1' } }).id;
      await tx.flush();
      // The flush kicked a pass, which found nothing uncommitted; another pass commits now, before
      // this transaction does (one flag for the process was cleared here and the event waited).
      await h.app.relay.drain();
      // Every pass kicked so far ends before this transaction commits.
      await new Promise((resolve) => setTimeout(resolve, 200));
    });
    await vi.waitFor(() => expect(h.events.map((e) => e.id)).toContain(id), { timeout: 3_000, interval: 10 });
  });
});
