// The audit trail end to end: real gateway, identity, authz and audit processes on one embedded
// PostgreSQL. Threats: events lost while audit is down, delivered twice, or a chain that cannot
// prove nothing was changed; secrets leaking into the trail.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { launch, startAudit, type Platform, type ServiceProcess } from './launcher';

let platform: Platform;
let gql: string;
let admin: string;
let adminPassword: string;
let audit: ServiceProcess | undefined;

const as = <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token = admin) =>
  graphqlRequest<T>(gql, query, { token, ...(variables ? { variables } : {}) });

async function count(action: string): Promise<number> {
  const res = await as<{ auditEvents: { totalCount: number } }>('query($f: AuditEventFilter) { auditEvents(filter: $f, first: 1) { totalCount } }', {
    f: { action },
  });
  if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.auditEvents.totalCount;
}

async function waitFor(check: () => Promise<boolean>, limitMs = 30_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    if (await check().catch(() => false)) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out');
}

async function verifyChain() {
  const res = await as<{ verifyAuditChain: { ok: boolean; checked: number; firstBrokenSeq: number | null; reason: string | null } }>(
    '{ verifyAuditChain { ok checked firstBrokenSeq reason } }',
  );
  return res.body.data!.verifyAuditChain;
}

async function createRoles(prefix: string, n: number, concurrency: number): Promise<number> {
  let next = 0;
  let ok = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const res = await as(`mutation { createRole(input: { name: "${prefix}-${i}" }) { id } }`);
        if (!res.body.errors) ok++;
      }
    }),
  );
  return ok;
}

beforeAll(async () => {
  // audit runs on its own so the test can stop and start it.
  platform = await launch({ env: { LAUNCH_SERVICES: 'identity,authz,gateway', REDIS_URL: undefined, MAX_ALIASES: '100' } });
  gql = `${platform.gatewayUrl}/graphql`;
  const text = readFileSync(join(platform.dataDir, 'admin-credentials.txt'), 'utf8');
  adminPassword = /password: (\S+)/.exec(text)![1]!;
  const login = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
    variables: { i: { email: 'admin@citadel.local', password: adminPassword } },
  });
  admin = login.body.data!.login.accessToken;
});
afterAll(async () => {
  await audit?.stop();
  await platform?.stop();
});

describe('the audit trail through the platform', () => {
  it('loses nothing while audit is down: 200 changes succeed, and their 200 events arrive exactly once when it is back', async () => {
    expect(await createRoles('offline', 200, 10)).toBe(200);
    audit = await startAudit(platform);
    // audit registers audit.* with authz; the admin (every permission) then holds them.
    await waitFor(async () => (await count('authz.role.created')) === 200);
    const ids = new Set<string>();
    let after: string | null = null;
    do {
      const page: { body: { data?: { auditEvents: { edges: { node: { target: { id: string } } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } } | null } } =
        await as('query($a: String) { auditEvents(filter: { action: "authz.role.created" }, first: 100, after: $a) { edges { node { target { id } } } pageInfo { hasNextPage endCursor } } }', { a: after });
      for (const edge of page.body.data!.auditEvents.edges) ids.add(edge.node.target.id);
      after = page.body.data!.auditEvents.pageInfo.hasNextPage ? page.body.data!.auditEvents.pageInfo.endCursor : null;
    } while (after);
    expect(ids.size).toBe(200);
    expect(await verifyChain()).toMatchObject({ ok: true, firstBrokenSeq: null });
  });

  it('records 1,000 concurrent changes as 1,000 events in a chain that verifies', async () => {
    const started = Date.now();
    expect(await createRoles('burst', 1_000, 50)).toBe(1_000);
    const mutated = Date.now() - started;
    const lag = await waitFor(async () => (await count('authz.role.created')) === 1_200);
    console.log(`1,000 concurrent createRole through the gateway in ${mutated} ms; all events in audit ${lag} ms after the last`);
    const chain = await verifyChain();
    expect(chain).toMatchObject({ ok: true, firstBrokenSeq: null });
    expect(chain.checked).toBeGreaterThanOrEqual(1_200);
  });

  it('records a failed login for an unknown email, with an anonymous actor', async () => {
    await graphqlRequest(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
      variables: { i: { email: 'nobody-here@example.com', password: 'not a real passphrase' } },
    });
    await waitFor(async () => (await count('identity.login.failed')) >= 1, 10_000);
    const res = await as<{ auditEvents: { edges: { node: { actor: { type: string; id: string | null }; target: { type: string; id: string | null }; outcome: string; reason: string } }[] } }>(
      '{ auditEvents(filter: { action: "identity.login.failed" }, first: 5) { edges { node { actor { type id } target { type id } outcome reason } } } }',
    );
    expect(res.body.data!.auditEvents.edges.map((e) => e.node)).toContainEqual({
      actor: { type: 'ANONYMOUS', id: null },
      target: { type: 'User', id: null },
      outcome: 'FAILURE',
      reason: 'INVALID_CREDENTIALS',
    });
  });

  it("records the gateway's authorization denials", async () => {
    await graphqlRequest(gql, 'query Snoop { users(first: 1) { totalCount } }');
    const query = '{ auditEvents(filter: { action: "gateway.authorization.denied", targetId: "Snoop" }, first: 1) { edges { node { operationName outcome actor { type } changes } } } }';
    type Denials = { auditEvents: { edges: { node: { operationName: string; outcome: string; changes: { after: { coordinates: string[] } } } }[] } };
    await waitFor(async () => ((await as<Denials>(query)).body.data?.auditEvents.edges.length ?? 0) > 0, 10_000);
    const res = await as<Denials>(query);
    expect(res.body.data!.auditEvents.edges[0]!.node).toMatchObject({ operationName: 'Snoop', outcome: 'DENIED', actor: { type: 'ANONYMOUS' }, changes: { after: { coordinates: ['Query.users'] } } });
  });

  it('keeps passwords and tokens out of every stored event', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const res = await as<{ auditExport: string }>('query($from: DateTime!, $to: DateTime!) { auditExport(from: $from, to: $to) }', { from, to });
    const exported = res.body.data!.auditExport;
    expect(exported.split('\n').length).toBeGreaterThan(1_000);
    for (const secret of [adminPassword, admin, 'not a real passphrase']) expect(exported).not.toContain(secret);
  });
});
