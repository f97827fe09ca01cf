// The authz subgraph against real PostgreSQL: catalogue registration, roles, grants, scopes, the
// change log gateways follow, checkPermission, and the access map.
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { AuthzClient } from '@citadel/kit/authz-client';
import { createLogger } from '@citadel/kit/logger';
import { definePermissions } from '@citadel/kit/permissions';
import { errorCode } from '@citadel/kit/testing/graphql-client';
import { PERMISSIONS_CHANGED_CHANNEL } from './changes';
import { useAuthz, userCaller } from './testing/authz-harness';

const authz = useAuthz([
  { coordinate: 'Query.users', kind: 'field', authenticated: false, scopes: [['identity.user.read']], policies: null },
  { coordinate: 'Mutation.disableTotp', kind: 'field', authenticated: true, scopes: null, policies: [['mfa']] },
]);

const CATALOGUE = {
  module: 'identity',
  permissions: { 'identity.user.read': 'Read accounts', 'identity.user.manage': 'Disable accounts', 'identity.self.export': 'Export own data' },
  roles: { user: ['identity.self.export'] },
};
const ALL = ['authz.grant.manage', 'authz.role.manage', 'identity.self.export', 'identity.user.manage', 'identity.user.read'];

async function register(catalogue: object = CATALOGUE) {
  return authz.internal('/internal/catalogue', await authz.serviceToken(), catalogue);
}

async function roleId(name: string): Promise<string> {
  const res = await authz.call<{ roles: { id: string; name: string }[] }>('{ roles { id name } }', { caller: userCaller() });
  return res.body.data!.roles.find((r) => r.name === name)!.id;
}

async function grant(caller: ReturnType<typeof userCaller>, input: { userId: string; roleId: string; scope?: string }) {
  return authz.call<{ grantRole: { id: string; scope: string } }>(
    'mutation($input: RoleGrantInput!) { grantRole(input: $input) { id scope role { name } } }',
    { caller, variables: { input } },
  );
}

async function permissionsOf(userId: string, scope = 'global'): Promise<string[]> {
  const res = await authz.call<{ _entities: { permissions: string[] }[] }>(
    'query($reps: [_Any!]!, $scope: String!) { _entities(representations: $reps) { ... on User { permissions(scope: $scope) } } }',
    { caller: userCaller([], userId), variables: { reps: [{ __typename: 'User', id: userId }], scope } },
  );
  expect(res.body.errors).toBeUndefined();
  return res.body.data!._entities[0]!.permissions;
}

const admin = { ...userCaller(ALL), policies: ['verified'] };

describe('permission catalogue', () => {
  it('registers a service catalogue idempotently and lists it', async () => {
    const first = await register();
    expect(first.status).toBe(200);
    expect(first.body.added).toEqual(['identity.user.read', 'identity.user.manage', 'identity.self.export']);
    expect((await register()).body.added).toEqual([]);
    const res = await authz.call<{ permissions: { code: string; module: string }[] }>('{ permissions { code module description } }', {
      caller: userCaller(),
    });
    expect(res.body.data!.permissions.map((p) => p.code)).toEqual(ALL);
  });

  it('gives a default role a permission once, so an administrator can take it away for good', async () => {
    const userRole = await roleId('user');
    const set = await authz.call('mutation($input: SetRolePermissionsInput!) { setRolePermissions(input: $input) { permissions } }', {
      caller: admin,
      variables: { input: { roleId: userRole, permissions: [] } },
    });
    expect(set.body.errors).toBeUndefined();
    await register();
    const roles = await authz.call<{ roles: { name: string; permissions: string[] }[] }>('{ roles { name permissions } }', { caller: userCaller() });
    expect(roles.body.data!.roles.find((r) => r.name === 'user')!.permissions).toEqual([]);
  });

  it('refuses a catalogue from a caller that is not a platform service, or for another module', async () => {
    expect((await authz.internal('/internal/catalogue', null, CATALOGUE)).status).toBe(401);
    expect((await authz.internal('/internal/catalogue', await authz.serviceToken('intruder'), CATALOGUE)).status).toBe(401);
    // A gateway token is not a service token.
    expect((await authz.internal('/internal/catalogue', await authz.gatewayToken(), CATALOGUE)).status).toBe(401);
    const other = await register({ module: 'authz', permissions: { 'authz.role.manage': 'taken over' }, roles: {} });
    expect(other.status).toBe(403);
    const bad = await register({ module: 'identity', permissions: { 'Not A Code': 'x' }, roles: {} });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toBeDefined();
  });
});

describe('roles', () => {
  it('creates, renames and deletes a custom role; built-in roles cannot be deleted or renamed', async () => {
    const created = await authz.call<{ createRole: { id: string; name: string; permissions: string[] } }>(
      'mutation { createRole(input: { name: "Support", description: "Helps users", permissions: ["identity.user.read"] }) { id name permissions } }',
      { caller: admin },
    );
    expect(created.body.data!.createRole).toMatchObject({ name: 'support', permissions: ['identity.user.read'] });
    const id = created.body.data!.createRole.id;
    const dup = await authz.call('mutation { createRole(input: { name: "support" }) { id } }', { caller: admin });
    expect(errorCode(dup)).toBe('ROLE_NAME_TAKEN');
    const renamed = await authz.call<{ updateRole: { name: string } }>(`mutation { updateRole(input: { id: "${id}", name: "helpdesk" }) { name } }`, { caller: admin });
    expect(renamed.body.data!.updateRole.name).toBe('helpdesk');
    const adminId = await roleId('admin');
    expect(errorCode(await authz.call(`mutation { deleteRole(id: "${adminId}") }`, { caller: admin }))).toBe('BUILT_IN_ROLE');
    expect(errorCode(await authz.call(`mutation { updateRole(input: { id: "${adminId}", name: "root" }) { id } }`, { caller: admin }))).toBe('BUILT_IN_ROLE');
    expect((await authz.call<{ deleteRole: boolean }>(`mutation { deleteRole(id: "${id}") }`, { caller: admin })).body.data!.deleteRole).toBe(true);
  });

  it('refuses unknown permissions and permissions the actor does not hold', async () => {
    const unknown = await authz.call('mutation { createRole(input: { name: "x1", permissions: ["identity.nothing.here"] }) { id } }', { caller: admin });
    expect(errorCode(unknown)).toBe('UNKNOWN_PERMISSION');
    const roleManager = { ...userCaller(['authz.role.manage']), policies: ['verified'] };
    const escalate = await authz.call('mutation { createRole(input: { name: "x2", permissions: ["identity.user.manage"] }) { id } }', {
      caller: roleManager,
    });
    expect(errorCode(escalate)).toBe('FORBIDDEN');
  });
});

describe('grants and scopes', () => {
  it('applies a global grant everywhere and a scoped grant only inside its scope', async () => {
    const role = await authz.call<{ createRole: { id: string } }>(
      'mutation { createRole(input: { name: "reader", permissions: ["identity.user.read"] }) { id } }',
      { caller: admin },
    );
    const readerId = role.body.data!.createRole.id;
    const alice = randomUUID();
    const bob = randomUUID();
    const workspace = `workspace:${randomUUID()}`;
    expect((await grant(admin, { userId: alice, roleId: readerId })).body.data!.grantRole.scope).toBe('global');
    expect((await grant(admin, { userId: bob, roleId: readerId, scope: workspace })).body.data!.grantRole.scope).toBe(workspace);
    expect(await permissionsOf(alice)).toEqual(['identity.user.read']);
    expect(await permissionsOf(alice, `workspace:${randomUUID()}`)).toEqual(['identity.user.read']);
    expect(await permissionsOf(bob)).toEqual([]);
    expect(await permissionsOf(bob, workspace)).toEqual(['identity.user.read']);
    expect(await permissionsOf(bob, `workspace:${randomUUID()}`)).toEqual([]);

    const checks = await authz.internal('/internal/check', await authz.serviceToken(), {
      checks: [
        { userId: bob, permission: 'identity.user.read', scope: workspace },
        { userId: bob, permission: 'identity.user.read' },
        { userId: alice, permission: 'identity.user.manage' },
      ],
    });
    expect(checks.body.results).toEqual([true, false, false]);
  });

  it('only hands out roles whose permissions the actor holds, and never the user role', async () => {
    const grantManager = { ...userCaller(['authz.grant.manage']), policies: ['verified'] };
    const adminRole = await roleId('admin');
    expect(errorCode(await grant(grantManager, { userId: grantManager.userId!, roleId: adminRole }))).toBe('FORBIDDEN');
    expect(errorCode(await grant(admin, { userId: randomUUID(), roleId: await roleId('user') }))).toBe('BUILT_IN_ROLE');
    expect(errorCode(await grant(admin, { userId: randomUUID(), roleId: adminRole, scope: 'not a scope' }))).toBe('INVALID_SCOPE');
  });

  it('gives an admin every registered permission and keeps the last global admin', async () => {
    const adminRole = await roleId('admin');
    const root = randomUUID();
    await grant(admin, { userId: root, roleId: adminRole });
    expect(await permissionsOf(root)).toEqual(ALL);
    const revoke = await authz.call('mutation($input: RoleGrantInput!) { revokeRole(input: $input) }', {
      caller: admin,
      variables: { input: { userId: root, roleId: adminRole } },
    });
    expect(errorCode(revoke)).toBe('LAST_ADMIN');
  });

  it("lets users read their own roles but not someone else's without authz.grant.manage", async () => {
    const someone = randomUUID();
    const query = 'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { roles { scope role { name } } } } }';
    const variables = { reps: [{ __typename: 'User', id: someone }] };
    expect(errorCode(await authz.call(query, { caller: userCaller(), variables }))).toBe('FORBIDDEN');
    expect((await authz.call(query, { caller: userCaller([], someone), variables })).body.errors).toBeUndefined();
    expect((await authz.call(query, { caller: userCaller(['authz.grant.manage']), variables })).body.errors).toBeUndefined();
  });
});

describe('what gateways follow', () => {
  it('logs each change and announces it, so caches can drop exactly the affected users', async () => {
    const token = await authz.gatewayToken();
    const before = (await authz.internal('/internal/changes?after=999999999', token)).body.seq as number;
    const heard: unknown[] = [];
    await authz.pubsub.subscribe(PERMISSIONS_CHANGED_CHANNEL, (m) => heard.push(m));
    const user = randomUUID();
    const readerId = await roleId('reader');
    await grant(admin, { userId: user, roleId: readerId });
    const changes = await authz.internal(`/internal/changes?after=${before}`, token);
    expect(changes.body.userIds).toEqual([user]);
    await new Promise((r) => setTimeout(r, 20));
    expect(heard).toEqual([{ seq: changes.body.seq, userIds: [user] }]);
    const effective = await authz.internal('/internal/effective-permissions', token, { userId: user });
    expect(effective.body).toMatchObject({ admin: false, permissions: ['identity.user.read'], seq: changes.body.seq });
    // A role's permissions changing can affect anyone: the change says so.
    await authz.call('mutation($input: SetRolePermissionsInput!) { setRolePermissions(input: $input) { id } }', {
      caller: admin,
      variables: { input: { roleId: readerId, permissions: ['identity.user.read', 'identity.user.manage'] } },
    });
    expect((await authz.internal(`/internal/changes?after=${changes.body.seq}`, token)).body.userIds).toBeNull();
  });

  it('refuses internal routes without the right token', async () => {
    expect((await authz.internal('/internal/changes?after=0', null)).status).toBe(401);
    // A platform service may read effective permissions (identity bounds disableUser with them); an intruder may not.
    expect((await authz.internal('/internal/effective-permissions', await authz.serviceToken('intruder'), { userId: randomUUID() })).status).toBe(401);
    expect((await authz.internal('/internal/effective-permissions', await authz.serviceToken(), { userId: randomUUID() })).status).toBe(200);
    expect((await authz.internal('/internal/effective-permissions', await authz.gatewayToken(), { userId: 'nope' })).status).toBe(400);
  });
});

describe('access map', () => {
  it('says for each protected coordinate whether the caller has it and what is missing', async () => {
    const query = '{ accessMap { coordinate allowed missing } }';
    expect(errorCode(await authz.call(query))).toBe('UNAUTHORIZED_FIELD_OR_TYPE'); // signed-in callers only
    const plain = await authz.call<{ accessMap: { coordinate: string; allowed: boolean; missing: string[] }[] }>(query, { caller: userCaller() });
    expect(plain.body.data!.accessMap).toEqual([
      { coordinate: 'Query.users', allowed: false, missing: ['identity.user.read'] },
      { coordinate: 'Mutation.disableTotp', allowed: false, missing: ['policy:mfa'] },
    ]);
    const reader = await authz.call<{ accessMap: { allowed: boolean }[] }>(query, {
      caller: { ...userCaller(['identity.user.read']), policies: ['mfa'] },
    });
    expect(reader.body.data!.accessMap.map((e) => e.allowed)).toEqual([true, true]);
  });
});

describe('defense in depth: the subgraph enforces the directives itself', () => {
  // Threat: a gateway bug, or a leaked internal token, lets a request through with a protected
  // field the caller may not use. The subgraph reads the same directives and refuses it.
  it('refuses a protected mutation to a valid internal token that lacks the permission or the policy', async () => {
    const mutation = 'mutation { createRole(input: { name: "sneaky" }) { id } }';
    const withoutPermission = await authz.call(mutation, { caller: { ...userCaller([]), policies: ['verified'] } });
    expect(errorCode(withoutPermission)).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    expect(withoutPermission.body.data ?? null).toBeNull();
    const unverified = await authz.call(mutation, { caller: userCaller(['authz.role.manage']) });
    expect(errorCode(unverified)).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    const anonymous = await authz.call('{ roles { id } }');
    expect(errorCode(anonymous)).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    const roles = await authz.call<{ roles: { name: string }[] }>('{ roles { name } }', { caller: userCaller() });
    expect(roles.body.data!.roles.map((r) => r.name)).not.toContain('sneaky');
  });
});

describe("the kit's AuthzClient, as subgraphs use it", () => {
  it('batches checkPermission calls of one tick into one request and caches answers briefly', async () => {
    const client = new AuthzClient({ url: authz.baseUrl, minter: authz.identityMinter, logger: createLogger('test', 'silent'), cacheMs: 10_000 });
    const user = randomUUID();
    const scope = `workspace:${randomUUID()}`;
    const role = await authz.call<{ createRole: { id: string } }>(
      'mutation { createRole(input: { name: "checker", permissions: ["identity.user.read"] }) { id } }',
      { caller: admin },
    );
    await grant(admin, { userId: user, roleId: role.body.data!.createRole.id, scope });
    const before = await metricCount();
    const answers = await Promise.all([
      client.checkPermission(user, 'identity.user.read', scope),
      client.checkPermission(user, 'identity.user.read'),
      client.checkPermission(user, 'identity.user.manage', scope),
      client.checkPermission(randomUUID(), 'identity.user.read', scope),
    ]);
    expect(answers).toEqual([true, false, false, false]);
    expect(await client.checkPermission(user, 'identity.user.read', scope)).toBe(true);
    expect((await metricCount()) - before).toBe(1);
  });

  it('registers a catalogue, retrying until authz accepts it', async () => {
    const client = new AuthzClient({ url: authz.baseUrl, minter: authz.identityMinter, logger: createLogger('test', 'silent') });
    const catalogue = definePermissions({ module: 'identity', permissions: { 'identity.report.read': 'Read reports' } });
    const registration = client.registerCatalogue(catalogue);
    await registration.registered;
    const res = await authz.call<{ permissions: { code: string }[] }>('{ permissions(module: "identity") { code } }', { caller: userCaller() });
    expect(res.body.data!.permissions.map((p) => p.code)).toContain('identity.report.read');
    // authz not reachable yet: the registration keeps trying rather than failing the service.
    const early = new AuthzClient({ url: 'http://127.0.0.1:9', minter: authz.identityMinter, logger: createLogger('test', 'silent') });
    const pending = early.registerCatalogue(catalogue);
    const outcome = await Promise.race([pending.registered.then(() => 'registered'), new Promise((r) => setTimeout(() => r('still trying'), 600))]);
    pending.stop();
    expect(outcome).toBe('still trying');
  });
});

/** How many /internal/check requests authz served (from its /metrics). */
async function metricCount(): Promise<number> {
  const text = await (await fetch(`${authz.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('http_requests_total') && l.includes('route="/internal/check"'));
  return Number(line?.split(' ').at(-1) ?? 0);
}

// Last: it registers a new permission, which changes what `admin` means for the tests above.
describe('catalogue roles', () => {
  it('never fills a custom role that took a name a catalogue declares later', async () => {
    // Threat: a role manager creates an empty "reporter" role, grants it to themselves (nothing to
    // delegate), and waits for a module to declare default permissions for a role of that name.
    const custom = await authz.call<{ createRole: { id: string } }>('mutation { createRole(input: { name: "reporter" }) { id } }', { caller: admin });
    expect(custom.body.errors).toBeUndefined();
    const later = await register({
      module: 'identity',
      permissions: { ...CATALOGUE.permissions, 'identity.report.export': 'Export reports' },
      roles: { reporter: ['identity.report.export'] },
    });
    expect(later.body).toMatchObject({ added: ['identity.report.export'], skippedRoles: ['reporter'] });
    const roles = await authz.call<{ roles: { name: string; permissions: string[]; builtIn: boolean }[] }>('{ roles { name permissions builtIn } }', { caller: userCaller() });
    expect(roles.body.data!.roles.find((r) => r.name === 'reporter')).toEqual({ name: 'reporter', permissions: [], builtIn: false });
  });
});

describe('concurrency', () => {
  it('gives one grant to identical grants racing, and both callers the same answer', async () => {
    const user = randomUUID();
    const role = await authz.call<{ createRole: { id: string } }>('mutation { createRole(input: { name: "racer" }) { id } }', { caller: admin });
    const input = { userId: user, roleId: role.body.data!.createRole.id };
    const results = await Promise.all(Array.from({ length: 8 }, () => grant(admin, input)));
    expect(results.map((r) => r.body.errors)).toEqual(Array(8).fill(undefined));
    expect(new Set(results.map((r) => r.body.data!.grantRole.id)).size).toBe(1);
  });
});

describe('audit events', () => {
  async function delivered(action: string, match: (e: { target: { id: string | null } | null }) => boolean = () => true) {
    const deadline = Date.now() + 3_000;
    for (;;) {
      const found = authz.events.find((e) => e.action === action && match(e));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${action} event; got ${authz.events.map((e) => e.action).join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('records role and grant changes with the actor, before and after, once committed', async () => {
    const created = await authz.call<{ createRole: { id: string } }>(
      'mutation { createRole(input: { name: "auditor", permissions: ["identity.user.read"] }) { id } }',
      { caller: admin },
    );
    const roleId = created.body.data!.createRole.id;
    const event = await delivered('authz.role.created', (e) => e.target?.id === roleId);
    expect(event).toMatchObject({
      service: 'authz',
      actor: { type: 'user', id: admin.userId, sessionId: admin.sessionId },
      target: { type: 'Role', id: roleId },
      outcome: 'success',
      changes: { before: null, after: { name: 'auditor', permissions: ['identity.user.read'] } },
    });
    const user = randomUUID();
    await grant(admin, { userId: user, roleId });
    expect((await delivered('authz.grant.created', (e) => e.target?.id === user)).changes).toEqual({
      before: null,
      after: { role: 'auditor', roleId, scope: 'global' },
    });
    await authz.call('mutation($input: RoleGrantInput!) { revokeRole(input: $input) }', { caller: admin, variables: { input: { userId: user, roleId } } });
    await delivered('authz.grant.revoked', (e) => e.target?.id === user);
    await authz.call('mutation($input: SetRolePermissionsInput!) { setRolePermissions(input: $input) { id } }', {
      caller: admin,
      variables: { input: { roleId, permissions: [] } },
    });
    expect((await delivered('authz.role.permissions-changed', (e) => e.target?.id === roleId)).changes).toEqual({
      before: { permissions: ['identity.user.read'] },
      after: { permissions: [] },
    });
    await authz.call(`mutation { deleteRole(id: "${roleId}") }`, { caller: admin });
    await delivered('authz.role.deleted', (e) => e.target?.id === roleId);
  });

  it('records nothing for a change that was refused', async () => {
    const before = authz.events.length;
    const refused = await authz.call('mutation { createRole(input: { name: "x9", permissions: ["identity.nothing.here"] }) { id } }', { caller: admin });
    expect(errorCode(refused)).toBe('UNKNOWN_PERMISSION');
    await new Promise((r) => setTimeout(r, 150));
    expect(authz.events.slice(before).filter((e) => e.action === 'authz.role.created')).toEqual([]);
    const [row] = await authz.orm.em.fork().getConnection().execute<{ n: number }[]>('select count(*)::int as n from authz.outbox');
    expect(row!.n).toBe(0); // delivered rows are removed
  });
});

describe('dead outbox events', () => {
  it('parks an event audit keeps refusing, lists it for an operator, and delivers it on retry', async () => {
    const operator = { ...userCaller(['audit.outbox.manage']), policies: [] };
    authz.audit.rejects = true;
    try {
      const created = await authz.call<{ createRole: { id: string } }>('mutation { createRole(input: { name: "parked" }) { id } }', { caller: admin });
      const roleId = created.body.data!.createRole.id;
      type Dead = { authzDeadEvents: { action: string; attempts: number; lastError: string }[] };
      let dead: Dead['authzDeadEvents'] = [];
      const deadline = Date.now() + 5_000;
      while (dead.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        dead = (await authz.call<Dead>('{ authzDeadEvents { action attempts lastError } }', { caller: operator })).body.data!.authzDeadEvents;
      }
      expect(dead).toEqual([{ action: 'authz.role.created', attempts: 2, lastError: 'audit refused the batch (test)' }]);
      expect(errorCode(await authz.call('{ authzDeadEvents { action } }', { caller: userCaller() }))).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
      authz.audit.rejects = false;
      const retried = await authz.call<{ retryAuthzDeadEvents: number }>('mutation { retryAuthzDeadEvents }', { caller: operator });
      expect(retried.body.data).toEqual({ retryAuthzDeadEvents: 1 });
      const until = Date.now() + 3_000;
      while (!authz.events.some((e) => e.action === 'authz.role.created' && e.target?.id === roleId) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(authz.events.filter((e) => e.action === 'authz.role.created' && e.target?.id === roleId)).toHaveLength(1);
    } finally {
      authz.audit.rejects = false;
    }
  });

  it('never parks events during an outage, however long: they are delivered when audit is back', async () => {
    authz.audit.down = true;
    try {
      const created = await authz.call<{ createRole: { id: string } }>('mutation { createRole(input: { name: "outage" }) { id } }', { caller: admin });
      const roleId = created.body.data!.createRole.id;
      // More failed tries than maxAttempts (2): still pending, not dead.
      await new Promise((r) => setTimeout(r, 2_000));
      const [row] = await authz.orm.em.fork().getConnection().execute<{ attempts: number; dead: boolean }[]>(
        `select "attempts", "dead_at" is not null as "dead" from authz.outbox where "event"->'target'->>'id' = ?`,
        [roleId],
      );
      expect(row!.attempts).toBeGreaterThan(2);
      expect(row!.dead).toBe(false);
      authz.audit.down = false;
      const until = Date.now() + 10_000;
      while (!authz.events.some((e) => e.target?.id === roleId) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(authz.events.filter((e) => e.action === 'authz.role.created' && e.target?.id === roleId)).toHaveLength(1);
    } finally {
      authz.audit.down = false;
    }
  });
});

describe('scoped grants by the module that declared the role', () => {
  it('lets a service grant and revoke its own roles inside resources, and nothing else', async () => {
    await register({
      module: 'identity',
      permissions: { ...CATALOGUE.permissions, 'identity.team.read': 'Read a team' },
      roles: { 'team-reader': ['identity.team.read'] },
    });
    const client = new AuthzClient({ url: authz.baseUrl, minter: authz.identityMinter, logger: createLogger('test', 'silent') });
    const user = randomUUID();
    await client.setGrants({ grant: [{ userId: user, role: 'team-reader', scope: 'team:1' }] });
    expect(await permissionsOf(user, 'team:1')).toEqual(['identity.team.read']);
    expect(await permissionsOf(user)).toEqual([]);
    // Delivered by the outbox relay a moment after the commit.
    const until = Date.now() + 3_000;
    while (!authz.events.some((e) => e.action === 'authz.grant.created' && e.target?.id === user) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const granted = authz.events.find((e) => e.action === 'authz.grant.created' && e.target?.id === user);
    expect(granted?.actor).toEqual({ type: 'service', id: 'identity', sessionId: null });
    await client.setGrants({ revoke: [{ userId: user, role: 'team-reader', scope: 'team:1' }] });
    expect(await permissionsOf(user, 'team:1')).toEqual([]);
    // Not a role identity declared, not a resource scope:
    await expect(client.setGrants({ grant: [{ userId: user, role: 'admin', scope: 'team:1' }] })).rejects.toThrow(/403/);
    await expect(client.setGrants({ grant: [{ userId: user, role: 'team-reader', scope: 'global' }] })).rejects.toThrow(/403/);
    expect(await permissionsOf(user, 'team:1')).toEqual([]);
  });
});
