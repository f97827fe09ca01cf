import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { REDACTED, type AuditEventInput } from '@citadel/kit/audit-event';
import { boundedChanges, parseEvents, wellFormed } from './event.input';

const base = (): AuditEventInput => ({
  id: randomUUID(),
  occurredAt: '2026-01-02T03:04:05.678Z',
  service: 'identity',
  actor: { type: 'user', id: 'u1', sessionId: null },
  action: 'identity.login.succeeded',
  target: { type: 'User', id: 'u1' },
  outcome: 'success',
  reason: null,
  ip: null,
  userAgent: null,
  requestId: null,
  traceId: null,
  operationName: null,
  changes: null,
});

const one = (event: unknown) => parseEvents([event]);

describe('parseEvents', () => {
  it('flattens an event into the stored columns', () => {
    const { events, problems } = one({ ...base(), id: 'AAAAAAAA-0000-4000-8000-000000000000' });
    expect(problems).toEqual([]);
    expect(events[0]).toMatchObject({ id: 'aaaaaaaa-0000-4000-8000-000000000000', actorType: 'user', actorId: 'u1', targetType: 'User', targetId: 'u1' });
    expect(events[0]!.occurredAt.toISOString()).toBe('2026-01-02T03:04:05.678Z');
  });

  it('takes missing optional fields as null', () => {
    const { reason: _r, ip: _i, userAgent: _u, requestId: _q, traceId: _t, operationName: _o, changes: _c, target: _g, ...rest } = base();
    const { events, problems } = one(rest);
    expect(problems).toEqual([]);
    expect(events[0]).toMatchObject({ reason: null, ip: null, targetType: null, targetId: null, changes: null });
  });

  it.each([
    ['action', { action: 'identity.login' }],
    ['action', { action: 'Identity.login.succeeded' }],
    ['outcome', { outcome: 'ok' }],
    ['service', { service: 'Identity Service' }],
    ['occurredAt', { occurredAt: '1999-12-31T23:59:59Z' }],
    ['actor.id', { actor: { type: 'user', id: null, sessionId: null } }],
    ['target.type', { target: { type: '', id: null } }],
  ])('names the bad field %s', (field, change) => {
    const { events, problems } = one({ ...base(), ...change });
    expect(events).toEqual([]);
    expect(problems.join()).toContain(`events.0.${field}`);
  });
});

describe('boundedChanges', () => {
  it('redacts secret-looking keys again', () => {
    expect(boundedChanges({ before: { token: 't' }, after: { totpSecret: 's', plain: 'p' } })).toEqual({
      before: { token: REDACTED },
      after: { totpSecret: REDACTED, plain: 'p' },
    });
  });

  it('leaves out changes too large or too deep, saying so', () => {
    expect(boundedChanges({ before: null, after: { big: 'x'.repeat(40_000) } })).toMatchObject({ omitted: 'TOO_LARGE' });
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 40; i++) deep = { deep };
    expect(boundedChanges({ before: null, after: deep })).toMatchObject({ omitted: 'TOO_DEEP' });
  });
});

describe('wellFormed', () => {
  it('replaces NUL and unpaired surrogates, which PostgreSQL cannot store, and keeps pairs', () => {
    expect(wellFormed('a\u0000b\uD800c\uDC00d\u{1F600}')).toBe('a\uFFFDb\uFFFDc\uFFFDd\u{1F600}');
  });
});
