// The durable authz grant mirror against real PostgreSQL: membership changes made while authz is
// down reach it, in order, once it is back, also when the node restarts in between.
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { seeder } from './testing/seed';
import { startWorkspaces, type WorkspacesHarness } from './testing/workspaces-harness';

const REMOVE = 'mutation($w: ID!, $u: ID!) { removeMember(workspaceId: $w, userId: $u) }';
const CHANGE_ROLE = 'mutation($input: ChangeMemberRoleInput!) { changeMemberRole(input: $input) { role } }';

const started: WorkspacesHarness[] = [];
async function start(join?: WorkspacesHarness): Promise<WorkspacesHarness> {
  const node = await startWorkspaces(inject('adminDatabaseUrl'), { join, app: { grantRetryMs: 5, grantPollMs: 20 } });
  started.push(node);
  return node;
}

afterEach(async () => {
  // Joined nodes first: the first node's stop drops the database.
  for (const node of started.reverse()) await node.stop();
  started.length = 0;
});

/** The grants a workspace's members should hold in authz, as GrantRecorder.held() lists them. */
const expectedGrants = (scope: string, grants: [string, string][]) => grants.map(([user, role]) => `${user}|${role}|${scope}`).sort();

describe('durable grant mirror', () => {
  it('applies membership changes made while authz was down, in order, once it is back', async () => {
    const h = await start();
    const seed = seeder(h);
    h.grants.down = true;
    const ws = await seed.workspace();
    const { ADMIN: admin, MEMBER: member, VIEWER: viewer } = ws.people;
    seed.ok(await h.call(CHANGE_ROLE, { caller: ws.owner, variables: { input: { workspaceId: ws.id, userId: viewer.userId, role: 'MEMBER' } } }));
    seed.ok(await h.call(REMOVE, { caller: ws.owner, variables: { w: ws.id, u: admin.userId } }));
    await h.app.mirror.settled();
    expect(h.grants.calls).toEqual([]);
    // Workspace created, 3 added, a role change, a removal: all waiting.
    expect(await h.app.mirror.pending()).toBe(6);

    h.grants.down = false;
    await vi.waitFor(async () => expect(await h.app.mirror.pending()).toBe(0), { timeout: 10_000, interval: 20 });
    const scope = `workspace:${ws.id}`;
    expect(h.grants.held().filter((g) => g.endsWith(scope))).toEqual(
      expectedGrants(scope, [[ws.owner.userId!, 'workspace-owner'], [member.userId!, 'workspace-member'], [viewer.userId!, 'workspace-member']]),
    );
    // In commit order: the removed admin was granted before being revoked.
    expect(h.grants.calls.map((c) => [c.grant.map((g) => g.role), c.revoke.map((g) => g.role)])).toEqual([
      [['workspace-owner'], []],
      [['workspace-admin'], []],
      [['workspace-member'], []],
      [['workspace-viewer'], []],
      [['workspace-member'], ['workspace-viewer']],
      [[], ['workspace-admin']],
    ]);
  });

  it('keeps what authz has not accepted across a restart, and the next node applies it', async () => {
    const first = await start();
    const seed = seeder(first);
    first.grants.down = true;
    const ws = await seed.workspace();
    seed.ok(await first.call(REMOVE, { caller: ws.owner, variables: { w: ws.id, u: ws.people.MEMBER.userId } }));
    await first.app.mirror.settled();
    await first.stopApp();

    const next = await start(first);
    await vi.waitFor(async () => expect(await next.app.mirror.pending()).toBe(0), { timeout: 10_000, interval: 20 });
    expect(next.grants.calls).toHaveLength(5);
    const scope = `workspace:${ws.id}`;
    expect(next.grants.held()).toEqual(
      expectedGrants(scope, [[ws.owner.userId!, 'workspace-owner'], [ws.people.ADMIN.userId!, 'workspace-admin'], [ws.people.VIEWER.userId!, 'workspace-viewer']]),
    );
    expect(first.grants.calls).toEqual([]);
  });
});
