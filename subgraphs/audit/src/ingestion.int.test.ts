// Ingestion against real PostgreSQL: who may deliver, validation, idempotency on event id,
// redaction, checkpoints every N events, and 1,000 concurrent deliveries forming one valid chain.
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { REDACTED } from '@citadel/kit/audit-event';
import { auditEvent, useAudit } from './testing/audit-harness';

const audit = useAudit({ checkpointEvery: 100 });

async function stored(id: string) {
  return (await audit.app.events.find(audit.em(), id)) ?? undefined;
}

async function chainStats() {
  return audit.sql(async (client) => {
    const { rows } = await client.query<{ count: number; min: string; max: string; distinct: number }>(
      'select count(*)::int as count, min(seq)::text as min, max(seq)::text as max, count(distinct id)::int as distinct from audit.events',
    );
    return rows[0]!;
  });
}

describe('who may deliver events', () => {
  // Threat: anyone reaching the audit port writes or forges trail entries.
  it('accepts a platform service token and refuses none, an unknown key, or a gateway token for another service', async () => {
    const ok = await audit.deliver([auditEvent()]);
    expect(ok).toEqual({ status: 200, body: { accepted: 1, duplicates: 0 } });

    expect((await audit.deliver([auditEvent()], null)).status).toBe(401);
    expect((await audit.deliver([auditEvent()], 'not-a-token')).status).toBe(401);
    // Signed as identity, but with a key audit does not know.
    expect((await audit.deliver([auditEvent()], await audit.serviceToken('intruder'))).status).toBe(401);
    // The gateway's token delivers the gateway's events (authorization denials) only.
    expect((await audit.deliver([auditEvent()], await audit.gatewayToken())).status).toBe(403);
    const denial = auditEvent({ service: 'gateway', action: 'gateway.field.denied', outcome: 'denied', reason: 'UNAUTHORIZED_FIELD_OR_TYPE' });
    expect(await audit.deliver([denial], await audit.gatewayToken())).toEqual({ status: 200, body: { accepted: 1, duplicates: 0 } });
  });

  // Threat: a compromised feature service writes events in identity's name.
  it("refuses a service delivering another service's events, and stores nothing of that batch", async () => {
    const own = auditEvent({ service: 'workspaces', action: 'workspaces.todo.created' });
    const forged = auditEvent({ service: 'identity' });
    const res = await audit.deliver([own, forged], await audit.serviceToken('workspaces'));
    expect(res.status).toBe(403);
    expect(await stored(own.id)).toBeUndefined();
    expect(await stored(forged.id)).toBeUndefined();
    expect((await audit.deliver([own], await audit.serviceToken('workspaces'))).body).toEqual({ accepted: 1, duplicates: 0 });
  });

  // Threat: a service files an action in another module's name under its own service field.
  it("refuses a service's event whose action belongs to another module", async () => {
    const forged = auditEvent({ service: 'workspaces', action: 'authz.grant.created' });
    expect((await audit.deliver([forged], await audit.serviceToken('workspaces'))).status).toBe(403);
    expect(await stored(forged.id)).toBeUndefined();
  });

  it('only takes POST', async () => {
    const res = await fetch(`${audit.baseUrl}/internal/events`, { headers: { authorization: `Bearer ${await audit.serviceToken()}` } });
    expect(res.status).toBe(405);
  });
});

describe('validation', () => {
  it.each([
    ['an action that is not module.resource.verb', { action: 'Login' }],
    ['an unknown outcome', { outcome: 'maybe' }],
    ['a malformed id', { id: 'nope' }],
    ['a time that is not ISO-8601', { occurredAt: 'yesterday' }],
    ['a user actor without an id', { actor: { type: 'user', id: null, sessionId: null } }],
    ['an overlong reason', { reason: 'x'.repeat(501) }],
  ])('refuses the whole batch for %s, naming the field', async (_label, override) => {
    const good = auditEvent();
    const res = await audit.deliver([good, { ...auditEvent(), ...override }]);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/events\.1\./);
    expect(await stored(good.id)).toBeUndefined();
  });

  it('refuses more than 500 events in one delivery and a body that is not JSON', async () => {
    const many = Array.from({ length: 501 }, () => auditEvent());
    expect((await audit.deliver(many)).status).toBe(400);
    const res = await fetch(`${audit.baseUrl}/internal/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await audit.serviceToken()}` },
      body: '{"events": [',
    });
    expect(res.status).toBe(400);
  });

  // Threat: a client sends a huge user agent so the event about its own action is refused and lost.
  it('shortens client-controlled fields instead of refusing the event', async () => {
    const event = auditEvent({ userAgent: 'A'.repeat(5_000), operationName: `Op${'x'.repeat(1_000)}` });
    expect((await audit.deliver([event])).status).toBe(200);
    const row = await stored(event.id);
    expect(row?.userAgent).toHaveLength(512);
    expect(row?.operationName).toHaveLength(256);
  });

  it('stores a time given with an offset in UTC, and an upper-case id in lower case', async () => {
    const id = randomUUID().toUpperCase();
    expect((await audit.deliver([auditEvent({ id, occurredAt: '2026-03-01T12:00:00.123+02:00' })])).status).toBe(200);
    const row = await stored(id.toLowerCase());
    expect(row?.occurredAt).toBe('2026-03-01T10:00:00.123000Z');
  });
});

describe('idempotency', () => {
  it('stores a redelivered event once and counts the duplicate', async () => {
    const event = auditEvent();
    const before = await chainStats();
    expect((await audit.deliver([event])).body).toEqual({ accepted: 1, duplicates: 0 });
    expect((await audit.deliver([event])).body).toEqual({ accepted: 0, duplicates: 1 });
    // Repeated inside one batch, and mixed with a new one.
    const other = auditEvent();
    expect((await audit.deliver([event, other, other])).body).toEqual({ accepted: 1, duplicates: 2 });
    const after = await chainStats();
    expect(after.count - before.count).toBe(2);
  });

  it('stores one event when the same delivery races itself', async () => {
    const event = auditEvent();
    const results = await Promise.all(Array.from({ length: 10 }, () => audit.deliver([event])));
    expect(results.map((r) => r.body.accepted).reduce((a, b) => Number(a) + Number(b), 0)).toBe(1);
    const count = await audit.sql(async (c) => (await c.query('select count(*)::int as n from audit.events where id = $1', [event.id])).rows[0].n);
    expect(count).toBe(1);
  });
});

describe('redaction', () => {
  // Threat: a producer forgets to redact and a password or token lands in the permanent trail.
  it('stores changes with secret-looking keys redacted, at any depth', async () => {
    const event = auditEvent({
      action: 'identity.password.changed',
      changes: {
        before: { passwordHash: '$argon2id$v=19$…', email: 'a@example.com' },
        after: { password: 'hunter2', nested: { refreshToken: 'rt_123', list: [{ apiKey: 'k' }] }, name: 'Ann' },
      },
    });
    expect((await audit.deliver([event])).status).toBe(200);
    const raw = await audit.sql(async (c) => (await c.query('select changes::text as t from audit.events where id = $1', [event.id])).rows[0].t as string);
    expect(raw).not.toMatch(/hunter2|argon2id|rt_123/);
    expect((await stored(event.id))?.changes).toEqual({
      before: { passwordHash: REDACTED, email: 'a@example.com' },
      after: { password: REDACTED, nested: { refreshToken: REDACTED, list: [{ apiKey: REDACTED }] }, name: 'Ann' },
    });
  });

  // Regression guard: a value PostgreSQL stores differently from how it was hashed breaks the chain for good.
  it('stores awkward content (NUL, unpaired surrogates, emoji, odd numbers) so that the chain still verifies', async () => {
    const event = auditEvent({
      userAgent: 'agent\uD800\u0000',
      reason: 'R\u{1F600}',
      changes: { before: { 'k\uDC00': 'v\u0000', n: [1e21, 0.1, -0, 1.5e-7, 2 ** 70] }, after: { é: { z: null, a: true } } },
    });
    expect((await audit.deliver([event])).status).toBe(200);
    const row = await stored(event.id);
    expect(row?.userAgent).toBe('agent\uFFFD\uFFFD');
    expect(row?.changes).toEqual({ before: { 'k\uFFFD': 'v\uFFFD', n: [1e21, 0.1, 0, 1.5e-7, 2 ** 70] }, after: { é: { z: null, a: true } } });
    expect(await audit.app.verifier.verify(audit.em(), { fromSeq: row!.seq, toSeq: row!.seq })).toMatchObject({ ok: true });
  });

  it('replaces oversized changes with a note rather than refusing the event', async () => {
    const event = auditEvent({ changes: { before: null, after: { bio: 'b'.repeat(40_000) } } });
    expect((await audit.deliver([event])).status).toBe(200);
    expect((await stored(event.id))?.changes).toMatchObject({ omitted: 'TOO_LARGE' });
  });
});

describe('the chain under concurrency', () => {
  it('gives 1,000 concurrent ingestions (100 deliveries of 10) 1,000 gap-free sequence numbers and a valid chain', async () => {
    // Warm up: open the connection pool, so the figure below is about appending, not connecting.
    await Promise.all(Array.from({ length: 10 }, () => audit.deliver([auditEvent()])));
    const before = await chainStats();
    const batches = Array.from({ length: 100 }, (_, b) =>
      Array.from({ length: 10 }, (_, i) => auditEvent({ action: 'identity.session.created', reason: `b${b}-${i}` })),
    );
    const started = performance.now();
    const results = await Promise.all(batches.map((batch) => audit.deliver(batch)));
    const ms = performance.now() - started;
    console.log(`ingestion: 1000 events in 100 concurrent deliveries took ${ms.toFixed(0)} ms (${Math.round(1000 / (ms / 1000))} events/s)`);
    expect(results.every((r) => r.status === 200 && r.body.accepted === 10)).toBe(true);

    const after = await chainStats();
    expect(after.count - before.count).toBe(1000);
    expect(after.distinct).toBe(after.count);
    expect(Number(after.min)).toBe(1);
    expect(Number(after.max)).toBe(after.count);
    const verification = await audit.app.verifier.verify(audit.em());
    expect(verification).toMatchObject({ ok: true, checked: after.count, firstBrokenSeq: null });
    // CHECKPOINT_EVERY=100: one checkpoint per 100 events however deliveries were grouped, each verified.
    expect(verification.checkpointsChecked).toBe(Math.floor(after.count / 100));
  });

  it('signs a checkpoint on the timer only when events arrived since the last one', async () => {
    const em = audit.em();
    expect((await audit.deliver([auditEvent()])).status).toBe(200);
    const checkpoint = await audit.app.checkpoints.checkpointNow(em);
    const head = await chainStats();
    expect(checkpoint?.seq).toBe(Number(head.max));
    expect(audit.app.checkpoints.signer.verify(checkpoint!)).toBe(true);
    expect(await audit.app.checkpoints.checkpointNow(audit.em())).toBeNull();
  });

  it('serves its public keys, so anyone can check a checkpoint signature', async () => {
    const jwks = (await (await fetch(`${audit.baseUrl}/.well-known/jwks.json`)).json()) as { keys: { kid: string; d?: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([audit.key.kid]);
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });
});
