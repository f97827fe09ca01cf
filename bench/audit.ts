// Audit under load, on a running platform: end-to-end event rate and outbox delivery lag while
// mutations run through the gateway, audit's raw ingestion rate, and chain verification speed.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceTokenMinter } from '@citadel/kit/auth';
import type { AuditEventInput } from '@citadel/kit/audit-event';
import { signingKeyFromPem } from '@citadel/kit/keys';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import type { Platform } from '../e2e/launcher';

export interface AuditFigures {
  mutations: number;
  mutationSeconds: number;
  /** recordedAt − occurredAt per event, ms. */
  lags: number[];
  ingested: number;
  ingestSeconds: number;
  verified: number;
  verifySeconds: number;
}

export async function measureAudit(platform: Platform, seconds: number): Promise<AuditFigures> {
  const gql = `${platform.gatewayUrl}/graphql`;
  const text = readFileSync(join(platform.dataDir, 'admin-credentials.txt'), 'utf8');
  const login = await graphqlRequest<{ login: { accessToken: string } }>(gql, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
    variables: { i: { email: /email: (\S+)/.exec(text)![1]!, password: /password: (\S+)/.exec(text)![1]! } },
  });
  const token = login.body.data!.login.accessToken;
  const as = <T>(query: string, variables?: Record<string, unknown>) => graphqlRequest<T>(gql, query, { token, ...(variables ? { variables } : {}) });

  // 1. Mutations for `seconds`, 16 in flight; each writes one authz event through the outbox.
  const tag = `bench-${Date.now()}`;
  let n = 0;
  const t0 = performance.now();
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < until) await as(`mutation { createRole(input: { name: "${tag}-${n++}" }) { id } }`);
    }),
  );
  const mutationSeconds = (performance.now() - t0) / 1000;
  const lags: number[] = [];
  let after: string | null = null;
  const deadline = Date.now() + 60_000;
  while (lags.length < n && Date.now() < deadline) {
    type Page = { auditEvents: { edges: { node: { occurredAt: string; recordedAt: string; changes: { after?: { name?: string } } } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const page: { body: { data?: Page | null } } = await as<Page>(
      'query($a: String) { auditEvents(filter: { action: "authz.role.created" }, first: 100, after: $a) { edges { node { occurredAt recordedAt changes } } pageInfo { hasNextPage endCursor } } }',
      { a: after },
    );
    const data = page.body.data?.auditEvents;
    if (!data) break;
    for (const { node } of data.edges) {
      if (node.changes.after?.name?.startsWith(tag)) lags.push(Date.parse(node.recordedAt) - Date.parse(node.occurredAt));
    }
    after = data.pageInfo.hasNextPage ? data.pageInfo.endCursor : null;
    if (!after) {
      if (lags.length < n) {
        lags.length = 0; // not all delivered yet: read again from the newest
        await new Promise((r) => setTimeout(r, 500));
      } else break;
    }
  }

  // 2. audit's own ingestion: 20,000 events as identity would deliver them, 500 a batch, 4 at a time.
  const minter = new ServiceTokenMinter('identity', await signingKeyFromPem(readFileSync(join(platform.dataDir, 'keys', 'identity.ed25519.pem'), 'utf8')));
  const event = (): AuditEventInput => ({
    id: randomUUID(),
    occurredAt: new Date().toISOString(),
    service: 'identity',
    actor: { type: 'anonymous', id: null, sessionId: null },
    action: 'identity.login.failed',
    target: { type: 'User', id: null },
    outcome: 'failure',
    reason: 'INVALID_CREDENTIALS',
    ip: '198.51.100.7',
    userAgent: 'bench',
    requestId: randomUUID(),
    traceId: null,
    operationName: 'Login',
    changes: null,
  });
  const BATCHES = 40;
  let sent = 0;
  const t1 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (sent < BATCHES) {
        sent++;
        const response = await fetch(`${platform.auditUrl}/internal/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${await minter.mint('audit')}` },
          body: JSON.stringify({ events: Array.from({ length: 500 }, event) }),
        });
        if (!response.ok) throw new Error(`ingestion answered ${response.status}`);
      }
    }),
  );
  const ingestSeconds = (performance.now() - t1) / 1000;

  // 3. Verify the whole chain.
  const t2 = performance.now();
  const verified = await as<{ verifyAuditChain: { ok: boolean; checked: number } }>('{ verifyAuditChain { ok checked } }');
  const verifySeconds = (performance.now() - t2) / 1000;
  if (!verified.body.data?.verifyAuditChain.ok) throw new Error(`chain did not verify: ${JSON.stringify(verified.body)}`);
  return { mutations: n, mutationSeconds, lags, ingested: BATCHES * 500, ingestSeconds, verified: verified.body.data.verifyAuditChain.checked, verifySeconds };
}
