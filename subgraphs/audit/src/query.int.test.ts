// Reading the trail against real data: each filter, the action prefix (LIKE wildcards are literal),
// the time range, pagination newest first with totalCount, one event, User.auditTrail (own, other,
// administrator), and the NDJSON export re-hashed independently of the service's code.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomUUID } from 'node:crypto';
import type { AuditEventInput } from '@citadel/kit/audit-event';
import { errorCode } from '@citadel/kit/testing/graphql-client';
import { auditEvent, useAudit, userCaller } from './testing/audit-harness';

const audit = useAudit({ checkpointEvery: 5 });

const alice = randomUUID();
const bob = randomUUID();
const reader = userCaller(['audit.event.read']);
const day = (d: number) => `2026-01-${String(d).padStart(2, '0')}T12:00:00.000Z`;

const events: AuditEventInput[] = [
  auditEvent({ occurredAt: day(1), actor: { type: 'user', id: alice, sessionId: null }, action: 'identity.login.succeeded', target: { type: 'User', id: alice } }),
  auditEvent({ occurredAt: day(2), actor: { type: 'anonymous', id: null, sessionId: null }, action: 'identity.login.failed', outcome: 'failure', reason: 'INVALID_CREDENTIALS', target: { type: 'User', id: alice } }),
  auditEvent({ occurredAt: day(3), actor: { type: 'user', id: bob, sessionId: null }, action: 'identity.password.changed', target: { type: 'User', id: bob } }),
  auditEvent({ occurredAt: day(4), actor: { type: 'user', id: bob, sessionId: null }, action: 'workspaces.member.added', target: { type: 'Grant', id: 'g-1' }, service: 'workspaces' }),
  auditEvent({ occurredAt: day(5), actor: { type: 'user', id: alice, sessionId: null }, action: 'workspaces.todo.updated', target: { type: 'Role', id: 'r-1' }, service: 'workspaces' }),
  auditEvent({ occurredAt: day(6), actor: { type: 'user', id: bob, sessionId: null }, action: 'identity.user.disabled', target: { type: 'User', id: alice } }),
  auditEvent({ occurredAt: day(7), actor: { type: 'user', id: alice, sessionId: null }, action: 'identity.mfa.enabled', outcome: 'denied', reason: 'UNAUTHORIZED_FIELD_OR_TYPE', target: null }),
];

interface Edge {
  cursor: string;
  node: { id: string; seq: number; action: string };
}
interface Connection {
  edges: Edge[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

const LIST = `query($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id seq action } } pageInfo { hasNextPage endCursor } totalCount
  }
}`;

async function list(filter: Record<string, unknown> | null, first = 20, after: string | null = null) {
  const res = await audit.call<{ auditEvents: Connection }>(LIST, { caller: reader, variables: { filter, first, after } });
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.auditEvents;
}

const ids = (connection: Connection) => connection.edges.map((e) => e.node.id);
/** The seeded events with these indexes, newest (highest seq) first. */
const expected = (...indexes: number[]) => indexes.sort((a, b) => b - a).map((i) => events[i]!.id);

beforeAll(async () => {
  // In order, each by its own producer: a service may only deliver its own module's actions.
  expect((await audit.deliver(events.slice(0, 3))).status).toBe(200);
  expect((await audit.deliver(events.slice(3, 5), await audit.serviceToken('workspaces'))).status).toBe(200);
  expect((await audit.deliver(events.slice(5))).status).toBe(200);
});

describe('auditEvents filters', () => {
  it.each([
    ['no filter', null, [0, 1, 2, 3, 4, 5, 6]],
    ['actorId', { actorId: bob }, [2, 3, 5]],
    ['action prefix by module', { action: 'identity.' }, [0, 1, 2, 5, 6]],
    ['action prefix by resource', { action: 'identity.login.' }, [0, 1]],
    ['a whole action', { action: 'workspaces.todo.updated' }, [4]],
    ['targetType', { targetType: 'User' }, [0, 1, 2, 5]],
    ['targetType and targetId', { targetType: 'User', targetId: alice }, [0, 1, 5]],
    ['outcome', { outcome: 'DENIED' }, [6]],
    ['from (inclusive)', { from: day(5) }, [4, 5, 6]],
    ['to (exclusive)', { to: day(3) }, [0, 1]],
    ['from and to with another filter', { from: day(2), to: day(7), actorId: alice }, [4]],
  ])('%s', async (_label, filter, indexes) => {
    const result = await list(filter);
    expect(ids(result)).toEqual(expected(...indexes));
    expect(result.totalCount).toBe(indexes.length);
  });

  it('treats LIKE wildcards in the action prefix literally', async () => {
    expect((await list({ action: 'identity.logi_' })).totalCount).toBe(0);
    expect((await list({ action: '%' })).totalCount).toBe(0);
    expect((await list({ action: 'identity.%.failed' })).totalCount).toBe(0);
    expect((await list({ action: '\\' })).totalCount).toBe(0);
  });
});

describe('auditEvents pagination', () => {
  it('pages newest first with a stable totalCount, and ends', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page: Connection = await list(null, 3, after);
      pages++;
      expect(page.totalCount).toBe(events.length);
      seen.push(...ids(page));
      const seqs = page.edges.map((e) => e.node.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(expected(0, 1, 2, 3, 4, 5, 6));
  });

  it('keeps pages stable while newer events arrive', async () => {
    const firstPage = await list({ targetType: 'User' }, 2);
    const newer = auditEvent({ target: { type: 'User', id: alice } });
    expect((await audit.deliver([newer])).status).toBe(200);
    const second = await list({ targetType: 'User' }, 2, firstPage.pageInfo.endCursor);
    expect(ids(second)).toEqual(expected(1, 0));
    expect(second.totalCount).toBe(5);
  });

  it.each([
    ['a cursor from nowhere', { first: 2, after: 'garbage!' }, 'BAD_USER_INPUT'],
    ['a cursor that is not a position', { first: 2, after: Buffer.from('"x"').toString('base64url') }, 'BAD_USER_INPUT'],
    ['a page too large', { first: 101, after: null }, 'BAD_USER_INPUT'],
  ])('refuses %s', async (_label, variables, code) => {
    const res = await audit.call(LIST, { caller: reader, variables: { filter: null, ...variables } });
    expect(errorCode(res)).toBe(code);
  });

  // Threat: reading the trail without the permission, straight at the subgraph.
  it('needs audit.event.read', async () => {
    const res = await audit.call(LIST, { caller: userCaller(['audit.chain.verify']) });
    expect(errorCode(res)).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    expect(res.body.data ?? null).toBeNull();
  });
});

describe('auditEvent', () => {
  it('returns every field of one event, null for an unknown id, BAD_USER_INPUT for a malformed one', async () => {
    const event = events[1]!;
    const res = await audit.call<{ auditEvent: Record<string, unknown> }>(
      `query($id: ID!) { auditEvent(id: $id) {
        id seq occurredAt service action outcome reason ip userAgent requestId traceId operationName changes hash
        actor { type id sessionId user { id } } target { type id }
      } }`,
      { caller: reader, variables: { id: event.id } },
    );
    expect(res.body.data?.auditEvent).toEqual({
      id: event.id,
      seq: 2,
      occurredAt: '2026-01-02T12:00:00.000Z',
      service: 'identity',
      action: 'identity.login.failed',
      outcome: 'FAILURE',
      reason: 'INVALID_CREDENTIALS',
      ip: '203.0.113.7',
      userAgent: 'vitest',
      requestId: event.requestId,
      traceId: null,
      operationName: 'Login',
      changes: null,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      actor: { type: 'ANONYMOUS', id: null, sessionId: null, user: null },
      target: { type: 'User', id: alice },
    });
    const actor = await audit.call<{ auditEvent: { actor: { type: string; user: { id: string } } } }>(
      `{ auditEvent(id: "${events[0]!.id}") { actor { type user { id } } } }`,
      { caller: reader },
    );
    expect(actor.body.data?.auditEvent.actor).toEqual({ type: 'USER', user: { id: alice } });
    expect((await audit.call(`{ auditEvent(id: "${randomUUID()}") { id } }`, { caller: reader })).body.data).toEqual({ auditEvent: null });
    expect(errorCode(await audit.call('{ auditEvent(id: "nope") { id } }', { caller: reader }))).toBe('BAD_USER_INPUT');
  });
});

describe('User.auditTrail', () => {
  const TRAIL = `query($reps: [_Any!]!, $first: Int) { _entities(representations: $reps) {
    ... on User { auditTrail(first: $first) { edges { node { id } } totalCount } }
  } }`;
  const trailOf = (userId: string, caller: ReturnType<typeof userCaller>, first = 20) =>
    audit.call<{ _entities: { auditTrail: Connection }[] }>(TRAIL, { caller, variables: { reps: [{ __typename: 'User', id: userId }], first } });

  it("shows a user what they did and what was done to their account, and nobody else's", async () => {
    const res = await trailOf(bob, userCaller([], bob));
    expect(res.body.errors).toBeUndefined();
    // Bob acted in 2, 3 and 5; 2 was also done to him. Nothing of Alice's.
    expect(ids(res.body.data!._entities[0]!.auditTrail)).toEqual(expected(2, 3, 5));
  });

  it('pages the trail', async () => {
    const res = await trailOf(bob, userCaller([], bob), 1);
    expect(res.body.data!._entities[0]!.auditTrail).toMatchObject({ totalCount: 3, edges: [{ node: { id: events[5]!.id } }] });
  });

  // Threat: one user reading another's security history.
  it("refuses another user's trail with FORBIDDEN, and allows it with audit.event.read", async () => {
    expect(errorCode(await trailOf(alice, userCaller([], bob)))).toBe('FORBIDDEN');
    const admin = await trailOf(alice, userCaller(['audit.event.read']));
    expect(admin.body.errors).toBeUndefined();
    expect(admin.body.data!._entities[0]!.auditTrail.totalCount).toBeGreaterThanOrEqual(5);
  });

  // Threat: a user learns an administrator's address, agent or session from their own trail.
  it("hides where and from which session someone else acted on the account, but not what they did", async () => {
    const query = `query($reps: [_Any!]!) { _entities(representations: $reps) {
      ... on User { auditTrail { edges { node { id action ip userAgent requestId actor { id sessionId } } } } }
    } }`;
    type Node = { id: string; action: string; ip: string | null; userAgent: string | null; requestId: string | null; actor: { id: string | null } };
    const trail = async (caller: ReturnType<typeof userCaller>) =>
      (await audit.call<{ _entities: { auditTrail: { edges: { node: Node }[] } }[] }>(query, { caller, variables: { reps: [{ __typename: 'User', id: alice }] } }))
        .body.data!._entities[0]!.auditTrail.edges.map((e) => e.node);
    const own = await trail(userCaller([], alice));
    const byBob = own.find((n) => n.id === events[5]!.id)!;
    expect(byBob).toMatchObject({ action: 'identity.user.disabled', actor: { id: bob }, ip: null, userAgent: null, requestId: null });
    const mine = own.find((n) => n.id === events[0]!.id)!;
    expect(mine.ip).toBe(events[0]!.ip);
    const asReader = await trail(userCaller(['audit.event.read']));
    expect(asReader.find((n) => n.id === events[5]!.id)!.ip).toBe(events[5]!.ip);
  });

  it('is refused to a caller who is not signed in', async () => {
    expect(errorCode(await audit.call(TRAIL, { variables: { reps: [{ __typename: 'User', id: alice }] } }))).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
  });
});

describe('auditExport', () => {
  const EXPORT = 'query($from: DateTime!, $to: DateTime!) { auditExport(from: $from, to: $to) }';

  it('returns the range as NDJSON that re-hashes independently of the service', async () => {
    const res = await audit.call<{ auditExport: string }>(EXPORT, { caller: reader, variables: { from: day(1), to: day(8) } });
    expect(res.body.errors).toBeUndefined();
    const lines = res.body.data!.auditExport.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const exported = lines.filter((l) => l.kind === 'event');
    const checkpoints = lines.filter((l) => l.kind === 'checkpoint');
    expect(exported.map((l) => l.id)).toEqual(events.map((e) => e.id));
    // CHECKPOINT_EVERY=5: the fifth event is checkpointed.
    expect(checkpoints.map((c) => c.seq)).toEqual([5]);
    // Events then checkpoints.
    expect(lines.findIndex((l) => l.kind === 'checkpoint')).toBe(exported.length);
    let prev = '0'.repeat(64);
    for (const line of exported) {
      const { kind: _kind, prevHash, hash, ...fields } = line;
      expect(prevHash).toBe(prev);
      expect(createHash('sha256').update(`${prev}${sortedJson(fields)}`).digest('hex')).toBe(hash);
      prev = hash as string;
    }
    expect(checkpoints[0]!.hash).toBe(exported[4]!.hash);
  });

  it('refuses a backwards range and keeps ranges narrower than 10,000 events (checked with 10,001 in verify-speed)', async () => {
    expect(errorCode(await audit.call(EXPORT, { caller: reader, variables: { from: day(8), to: day(1) } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await audit.call(EXPORT, { caller: userCaller(), variables: { from: day(1), to: day(8) } }))).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
  });
});

/** Sorted-key JSON written here from scratch, as an outside verifier would. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
