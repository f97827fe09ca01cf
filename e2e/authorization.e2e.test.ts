// Threat: a caller reads or changes what their permissions do not allow, through any route the
// graph offers (aliases, fragments, entities joined from another subgraph, a subgraph reached with
// a valid internal token), or keeps a permission after it was revoked. Every case goes through the
// real gateway, identity and authz processes on real PostgreSQL.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InternalTokenMinter } from '@citadel/kit/auth';
import { signingKeyFromPem } from '@citadel/kit/keys';
import { errorCode, graphqlRequest, type GraphQLResponse } from '@citadel/kit/testing/graphql-client';
import { REPO_ROOT } from '@citadel/kit/paths';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { launch, startExtraGateway, type ExtraGateway, type Platform } from './launcher';

const REDIS_URL = process.env.REDIS_URL;
const PASSWORD = 'authorization e2e passphrase';
const UNAUTHORIZED = 'UNAUTHORIZED_FIELD_OR_TYPE';

interface Account {
  id: string;
  email: string;
  token: string;
}

function adminCredentials(platform: Platform): { email: string; password: string } {
  const text = readFileSync(join(platform.dataDir, 'admin-credentials.txt'), 'utf8');
  return { email: /email: (\S+)/.exec(text)![1]!, password: /password: (\S+)/.exec(text)![1]! };
}

async function login(gql: string, email: string, password: string): Promise<string> {
  const res = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
    variables: { i: { email, password } },
  });
  if (!res.body.data) throw new Error(`login failed: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.login.accessToken;
}

async function account(gql: string, email: string): Promise<Account> {
  const res = await graphqlRequest<{ register: { id: string } }>(gql, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', {
    variables: { i: { email, password: PASSWORD, name: email.split('@')[0] } },
  });
  return { id: res.body.data!.register.id, email, token: await login(gql, email, PASSWORD) };
}

function deniedPaths(res: GraphQLResponse<unknown>): unknown[] {
  return (res.body.errors ?? []).filter((e) => e.extensions?.code === UNAUTHORIZED).map((e) => e.path);
}

/** Polls until `check` passes; returns the milliseconds it took, or Infinity. */
async function timeUntil(check: () => Promise<boolean>, limitMs = 10_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 20));
  }
  return Infinity;
}

describe('field authorization through the gateway', () => {
  let platform: Platform;
  let gql: string;
  let admin: string;
  let alice: Account;
  const roles: Record<string, string> = {};

  const as = (token: string | undefined, query: string, variables?: Record<string, unknown>) =>
    graphqlRequest<Record<string, unknown>>(gql, query, { ...(token ? { token } : {}), ...(variables ? { variables } : {}) });
  const grant = (userId: string, role: string, scope = 'global') =>
    as(admin, 'mutation($i: RoleGrantInput!) { grantRole(input: $i) { id } }', { i: { userId, roleId: roles[role], scope } });
  const revoke = (userId: string, role: string, scope = 'global') =>
    as(admin, 'mutation($i: RoleGrantInput!) { revokeRole(input: $i) }', { i: { userId, roleId: roles[role], scope } });

  beforeAll(async () => {
    platform = await launch({ env: { REDIS_URL: undefined } });
    gql = `${platform.gatewayUrl}/graphql`;
    const credentials = adminCredentials(platform);
    expect(platform.output()).toContain(`Admin:    ${credentials.email} / ${credentials.password}`);
    admin = await login(gql, credentials.email, credentials.password);
    alice = await account(gql, 'alice@example.com');
    const created = await as(admin, 'mutation { createRole(input: { name: "reader", permissions: ["identity.user.read"] }) { id } }');
    expect(created.body.errors).toBeUndefined();
    const list = await as(admin, '{ roles { id name } }');
    for (const role of list.body.data!.roles as { id: string; name: string }[]) roles[role.name] = role.id;
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('seeds a development admin who holds every permission', async () => {
    const res = await as(admin, '{ me { email permissions } }');
    const me = res.body.data!.me as { email: string; permissions: string[] };
    expect(me.email).toBe('admin@citadel.local');
    expect(me.permissions).toEqual(expect.arrayContaining(['authz.grant.manage', 'authz.role.manage', 'identity.user.manage', 'identity.user.read']));
  });

  it('returns null with an error for a protected nullable field, and keeps the rest of the answer', async () => {
    const anonymous = await as(undefined, `{ user(id: "${alice.id}") { id } }`);
    expect(anonymous.body.data).toEqual({ user: null });
    expect(deniedPaths(anonymous)).toEqual([['user']]);
    const signedIn = await as(alice.token, '{ me { id email disabledAt } }');
    expect(signedIn.body.data).toEqual({ me: { id: alice.id, email: alice.email, disabledAt: null } });
    expect(deniedPaths(signedIn)).toEqual([['me', 'disabledAt']]);
  });

  it('propagates the null of a protected non-null field as GraphQL does', async () => {
    // users: UserConnection! is non-null, so the whole data becomes null.
    const res = await as(alice.token, '{ me { id } users(first: 1) { totalCount } }');
    expect(res.body.data).toBeNull();
    expect(deniedPaths(res)).toEqual([['users']]);
  });

  it('holds through aliases, named fragments and inline fragments', async () => {
    const res = await as(
      alice.token,
      `{ me { ...Mine ... on User { again: disabledAt } } other: user(id: "${alice.id}") { id } }
       fragment Mine on User { id when: disabledAt }`,
    );
    expect(res.body.data).toEqual({ me: { id: alice.id, when: null, again: null }, other: null });
    expect(deniedPaths(res)).toEqual(expect.arrayContaining([['me', 'when'], ['me', 'again'], ['other']]));
  });

  it('holds for a field of an entity joined from another subgraph', async () => {
    // Grant (authz) → user (identity): disabledAt is identity's and needs identity.user.read.
    const viewer = await account(gql, 'viewer@example.com');
    const role = await as(admin, 'mutation { createRole(input: { name: "nothing" }) { id } }');
    roles.nothing = (role.body.data!.createRole as { id: string }).id;
    expect((await grant(viewer.id, 'nothing')).body.errors).toBeUndefined();
    const res = await as(viewer.token, '{ me { roles { role { name } user { id disabledAt } } } }');
    expect(res.body.data).toEqual({ me: { roles: [{ role: { name: 'nothing' }, user: { id: viewer.id, disabledAt: null } }] } });
    expect(deniedPaths(res)).toEqual([['me', 'roles', 0, 'user', 'disabledAt']]);
  });

  it('lets a grant take effect within a second, and a revocation too', async () => {
    const bob = await account(gql, 'bob@example.com');
    const query = '{ users(first: 5, filter: { search: "bob@" }) { totalCount } }';
    expect(deniedPaths(await as(bob.token, query))).toEqual([['users']]);
    expect((await grant(bob.id, 'reader')).body.errors).toBeUndefined();
    const granted = await timeUntil(async () => (await as(bob.token, query)).body.data?.users !== undefined);
    console.log(`a grant reached the gateway (no Redis: its poll of authz) in ${granted} ms`);
    expect(granted).toBeLessThan(1_000);
    expect((await as(bob.token, query)).body.data).toEqual({ users: { totalCount: 1 } });
    expect((await revoke(bob.id, 'reader')).body.data).toEqual({ revokeRole: true });
    const revoked = await timeUntil(async () => deniedPaths(await as(bob.token, query)).length === 1);
    expect(revoked).toBeLessThan(1_000);
  });

  it('applies a scoped grant only inside its scope', async () => {
    const carol = await account(gql, 'carol@example.com');
    const scope = 'workspace:5f1d7c1e-0000-4000-8000-000000000001';
    expect((await grant(carol.id, 'reader', scope)).body.errors).toBeUndefined();
    const res = await as(carol.token, `{ me { inside: permissions(scope: "${scope}") outside: permissions(scope: "workspace:other") global: permissions } }`);
    const me = res.body.data!.me as { inside: string[]; outside: string[]; global: string[] };
    // Every account's `user` role (e.g. workspaces.workspace.create) applies everywhere; the grant only inside.
    expect(me.inside).toContain('identity.user.read');
    expect(me.outside).not.toContain('identity.user.read');
    expect(me.global).not.toContain('identity.user.read');
    expect(me.outside).toEqual(me.global);
    // The gateway enforces global permissions: a scoped grant does not open global fields.
    expect(deniedPaths(await as(carol.token, '{ user(id: "00000000-0000-4000-8000-000000000000") { id } }'))).toEqual([['user']]);
  });

  it('guards role and grant management with their own permissions', async () => {
    const create = await as(alice.token, 'mutation { createRole(input: { name: "mine", permissions: ["identity.user.read"] }) { id } }');
    expect(create.body.data).toBeNull();
    expect(deniedPaths(create)).toEqual([['createRole']]);
    const selfGrant = await as(alice.token, 'mutation($i: RoleGrantInput!) { grantRole(input: $i) { id } }', {
      i: { userId: alice.id, roleId: roles.admin },
    });
    expect(errorCode(selfGrant)).toBe(UNAUTHORIZED);
    const list = await as(admin, '{ roles { name } }');
    expect((list.body.data!.roles as { name: string }[]).map((r) => r.name)).not.toContain('mine');
  });

  it('does not remove introspection or __typename', async () => {
    const res = await as(undefined, '{ __typename __schema { queryType { name } } }');
    expect(res.body).toEqual({ data: { __typename: 'Query', __schema: { queryType: { name: 'Query' } } } });
  });

  it('a subgraph called with a valid internal token that lacks the permission still refuses', async () => {
    const gatewayKey = await signingKeyFromPem(readFileSync(join(platform.dataDir, 'keys', 'gateway.ed25519.pem'), 'utf8'));
    const minter = new InternalTokenMinter(gatewayKey);
    const caller = { userId: alice.id, sessionId: null, permissions: [], policies: [] };
    const identity = await graphqlRequest(`${platform.identityUrl}/graphql`, '{ users(first: 1) { totalCount } }', {
      token: await minter.mint(caller, 'identity'),
    });
    expect(errorCode(identity)).toBe(UNAUTHORIZED);
    expect(identity.body.data ?? null).toBeNull();
    const authz = await graphqlRequest(`${platform.authzUrl}/graphql`, 'mutation { createRole(input: { name: "direct" }) { id } }', {
      token: await minter.mint(caller, 'authz'),
    });
    expect(errorCode(authz)).toBe(UNAUTHORIZED);
  });

  it('explains what the caller may do and why not, and counts denials by coordinate', async () => {
    const res = await as(alice.token, '{ accessMap { coordinate allowed missing } }');
    const rules = res.body.data!.accessMap as { coordinate: string; allowed: boolean; missing: string[] }[];
    expect(rules.find((r) => r.coordinate === 'Query.users')).toEqual({ coordinate: 'Query.users', allowed: false, missing: ['identity.user.read'] });
    expect(rules.find((r) => r.coordinate === 'Mutation.grantRole')).toMatchObject({ allowed: false, missing: ['authz.grant.manage', 'policy:verified'] });
    const adminRules = (await as(admin, '{ accessMap { allowed } }')).body.data!.accessMap as { allowed: boolean }[];
    expect(adminRules.every((r) => r.allowed)).toBe(true);
    await as(alice.token, '{ users(first: 1) { totalCount } }');
    const metrics = await (await fetch(`${platform.gatewayUrl}/metrics`)).text();
    expect(metrics).toMatch(/citadel_authorization_denied_total\{[^}]*coordinate="Query\.users"[^}]*\} [1-9]/);
  });

  it('npm run admin grants a role by email to a running platform', async () => {
    const frank = await account(gql, 'frank@example.com');
    const query = '{ user(id: "00000000-0000-4000-8000-000000000000") { id } }';
    expect(deniedPaths(await as(frank.token, query))).toEqual([['user']]);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'DATABASE_URL' && k !== 'REDIS_URL') env[k] = v;
    env.EMBEDDED_PG_PORT = String(platform.embeddedPgPort);
    const run = (args: string[]) =>
      execFileSync(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', ...args], { cwd: REPO_ROOT, env, encoding: 'utf8' });
    expect(run(['grant', '--email', 'FRANK@example.com', '--role', 'reader'])).toContain('granted reader (global) to FRANK@example.com');
    const granted = await timeUntil(async () => (await as(frank.token, query)).body.errors === undefined, 5_000);
    expect(granted).toBeLessThan(1_000);
    expect(() => run(['grant', '--email', 'nobody@example.com', '--role', 'reader'])).toThrow(/No account with email/);
    expect(() => run(['grant', '--email', 'frank@example.com'])).toThrow(/usage/);
  });

  it('re-reads permissions for every operation on an open WebSocket', async () => {
    const gina = await account(gql, 'gina@example.com');
    const socket = createClient({ url: gql.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { Authorization: `Bearer ${gina.token}` } });
    const run = () =>
      new Promise<{ errors?: { extensions?: { code?: string } }[] }>((resolve) => {
        let result: unknown;
        socket.subscribe({ query: '{ user(id: "00000000-0000-4000-8000-000000000000") { id } }' }, {
          next: (value) => (result = value),
          error: (errors) => resolve({ errors: errors as never }),
          complete: () => resolve(result as never),
        });
      });
    try {
      expect((await run()).errors?.[0]?.extensions?.code).toBe(UNAUTHORIZED);
      expect((await grant(gina.id, 'reader')).body.errors).toBeUndefined();
      expect(await timeUntil(async () => (await run()).errors === undefined, 5_000)).toBeLessThan(1_000);
    } finally {
      await socket.dispose();
    }
  });

  it('a user manager cannot disable an administrator who holds more (identity asks authz over a service token)', async () => {
    const manager = await account(gql, 'user-manager@example.com');
    const role = await as(admin, 'mutation { createRole(input: { name: "user-manager", permissions: ["identity.user.read", "identity.user.manage"] }) { id } }');
    const roleId = (role.body.data!.createRole as { id: string }).id;
    expect((await as(admin, 'mutation($i: RoleGrantInput!) { grantRole(input: $i) { id } }', { i: { userId: manager.id, roleId, scope: 'global' } })).body.errors).toBeUndefined();
    const adminId = ((await as(admin, '{ me { id } }')).body.data!.me as { id: string }).id;
    // The grant reaches the gateway within a second; then manager may call disableUser at all.
    const refusedIn = await timeUntil(async () => errorCode(await as(manager.token, `mutation { disableUser(id: "${adminId}") { id } }`)) === 'FORBIDDEN', 5_000);
    expect(refusedIn).toBeLessThan(5_000);
    const refused = await as(manager.token, `mutation { disableUser(id: "${adminId}") { id } }`);
    expect(refused.body.errors?.[0]?.extensions?.missing).toEqual(expect.arrayContaining(['authz.grant.manage', 'authz.role.manage']));
    expect(((await as(admin, '{ me { disabled } }')).body.data!.me as { disabled: boolean }).disabled).toBe(false);
    // A plain account the manager can disable.
    const plainAccount = await account(gql, 'plain-account@example.com');
    const plain = await as(manager.token, `mutation { disableUser(id: "${plainAccount.id}") { disabled } }`);
    expect(plain.body.errors).toBeUndefined();
    expect(plain.body.data).toEqual({ disableUser: { disabled: true } });
  });

  it('a disabled account loses its sessions at once and cannot sign in again', async () => {
    const dave = await account(gql, 'dave@example.com');
    const disabled = await as(admin, `mutation { disableUser(id: "${dave.id}") { disabled } }`);
    expect(disabled.body.data).toEqual({ disableUser: { disabled: true } });
    const refused = await timeUntil(async () => errorCode(await as(dave.token, '{ me { id } }')) === 'UNAUTHENTICATED', 5_000);
    expect(refused).toBeLessThan(5_000);
    const again = await graphqlRequest(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
      variables: { i: { email: dave.email, password: PASSWORD } },
    });
    expect(errorCode(again)).toBe('ACCOUNT_DISABLED');
  });
});

describe.skipIf(!REDIS_URL)('a grant reaching two gateway processes over Redis', () => {
  let platform: Platform;
  let second: ExtraGateway;

  beforeAll(async () => {
    // Both gateways poll authz only every 10 minutes: only the Redis message can make the bound.
    platform = await launch({ env: { REDIS_URL, PERMISSIONS_POLL_MS: '600000' } });
    second = await startExtraGateway(platform, { REDIS_URL, PERMISSIONS_POLL_MS: '600000' });
  });
  afterAll(async () => {
    second?.stop();
    await platform?.stop();
  });

  it('a grant and a revocation through one gateway apply on the other within 1 s', async () => {
    const first = `${platform.gatewayUrl}/graphql`;
    const credentials = adminCredentials(platform);
    const admin = await login(first, credentials.email, credentials.password);
    const erin = await account(first, 'erin@example.com');
    const roleList = await graphqlRequest<{ roles: { id: string; name: string }[] }>(first, '{ roles { id name } }', { token: admin });
    const adminRole = roleList.body.data!.roles.find((r) => r.name === 'admin')!.id;
    const query = '{ user(id: "00000000-0000-4000-8000-000000000000") { id } }';
    const allowed = async () => (await graphqlRequest(second.url, query, { token: erin.token })).body.errors === undefined;
    expect(await allowed()).toBe(false); // and now cached on the second gateway
    const input = { i: { userId: erin.id, roleId: adminRole } };
    const grant = () => graphqlRequest(first, 'mutation($i: RoleGrantInput!) { grantRole(input: $i) { id } }', { token: admin, variables: input });
    const revoke = () => graphqlRequest(first, 'mutation($i: RoleGrantInput!) { revokeRole(input: $i) }', { token: admin, variables: input });
    expect((await grant()).body.errors).toBeUndefined();
    const granted = await timeUntil(allowed, 5_000);
    console.log(`a grant reached the second gateway over Redis in ${granted} ms`);
    expect(granted).toBeLessThan(1_000);
    expect((await revoke()).body.errors).toBeUndefined();
    const revoked = await timeUntil(async () => !(await allowed()), 5_000);
    console.log(`a revocation reached the second gateway over Redis in ${revoked} ms`);
    expect(revoked).toBeLessThan(1_000);
  });
});
