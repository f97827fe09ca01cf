// The first feature subgraph through the real platform: workspaces and todos across identity,
// authz (scoped grants) and audit, over HTTP through the gateway.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { launch, type Platform } from './launcher';

let platform: Platform;
let gql: string;

async function account(email: string): Promise<{ id: string; token: string }> {
  const password = 'workspaces e2e passphrase';
  const reg = await graphqlRequest<{ register: { id: string } }>(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', {
    variables: { i: { email, password, name: email.split('@')[0] } },
  });
  const login = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
    variables: { i: { email, password } },
  });
  return { id: reg.body.data!.register.id, token: login.body.data!.login.accessToken };
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, limitMs = 5_000): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  platform = await launch({ env: { REDIS_URL: undefined } });
  gql = `${platform.gatewayUrl}/graphql`;
});
afterAll(async () => {
  await platform?.stop();
});

describe('workspaces through the gateway', () => {
  it('creates a workspace whose owner gets scoped permissions from authz, joined with identity and audited', async () => {
    const ada = await account('ada@example.com');
    const bob = await account('bob@example.com');
    const created = await graphqlRequest<{ createWorkspace: { id: string } }>(gql, 'mutation { createWorkspace(name: "Launch") { id } }', { token: ada.token });
    expect(created.body.errors).toBeUndefined();
    const id = created.body.data!.createWorkspace.id;

    // Fields from three subgraphs in one answer: workspaces, identity (names) and authz (scoped permissions).
    const mine = await eventually(
      () =>
        graphqlRequest<{ me: { workspaces: { name: string; myRole: string; members: { user: { name: string }; role: string }[] }[]; permissions: string[] } }>(
          gql,
          `{ me { workspaces { name myRole members { user { name } role } } permissions(scope: "workspace:${id}") } }`,
          { token: ada.token },
        ),
      (res) => res.body.data?.me.permissions.includes('workspaces.todo.write') ?? false,
      10_000,
    );
    expect(mine.body.data!.me.workspaces).toEqual([{ name: 'Launch', myRole: 'OWNER', members: [{ user: { name: 'ada' }, role: 'OWNER' }] }]);
    expect(mine.body.data!.me.permissions).toContain('workspaces.todo.write');

    // A non-member learns nothing, not even that it exists.
    const snoop = await graphqlRequest(gql, `{ workspace(id: "${id}") { name } }`, { token: bob.token });
    expect(snoop.body.data).toEqual({ workspace: null });
    expect(errorCode(snoop)).toBe('NOT_FOUND');

    const added = await graphqlRequest(gql, 'mutation($i: AddMemberInput!) { addMember(input: $i) { role } }', {
      token: ada.token,
      variables: { i: { workspaceId: id, userId: bob.id, role: 'MEMBER' } },
    });
    expect(added.body.errors).toBeUndefined();
    const todo = await graphqlRequest<{ createTodo: { title: string; assignee: { name: string }; createdBy: { name: string } } }>(
      gql,
      'mutation($i: CreateTodoInput!) { createTodo(input: $i) { title assignee { name } createdBy { name } } }',
      { token: bob.token, variables: { i: { workspaceId: id, title: 'Write the launch post', assigneeId: ada.id, idempotencyKey: 'k-1' } } },
    );
    expect(todo.body.data).toEqual({ createTodo: { title: 'Write the launch post', assignee: { name: 'ada' }, createdBy: { name: 'bob' } } });

    // The change is in the audit trail, written with it and delivered by the outbox relay.
    const credentials = readFileSync(join(platform.dataDir, 'admin-credentials.txt'), 'utf8');
    const admin = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
      variables: { i: { email: 'admin@citadel.local', password: /password: (\S+)/.exec(credentials)![1] } },
    });
    const trail = await eventually(
      () =>
        graphqlRequest<{ auditEvents: { edges: { node: { action: string; actor: { id: string } } }[] } }>(
          gql,
          '{ auditEvents(filter: { action: "workspaces." }, first: 10) { edges { node { action actor { id } } } } }',
          { token: admin.body.data!.login.accessToken },
        ),
      (res) => (res.body.data?.auditEvents.edges.length ?? 0) >= 3,
    );
    expect(trail.body.data!.auditEvents.edges.map((e) => e.node)).toEqual([
      { action: 'workspaces.todo.created', actor: { id: bob.id } },
      { action: 'workspaces.member.added', actor: { id: ada.id } },
      { action: 'workspaces.workspace.created', actor: { id: ada.id } },
    ]);
  });
});
