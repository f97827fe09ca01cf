// The live filter matches in memory exactly as auditEvents' SQL does: exact fields, a literal action
// prefix, AND of every field given, and the same length limits.
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../chain/canonical';
import { liveFilter } from './live-filter';

const event = (overrides: Partial<StoredEvent> = {}): StoredEvent => ({
  seq: 1,
  id: '00000000-0000-4000-8000-000000000001',
  occurredAt: '2026-01-01T00:00:00.000000Z',
  recordedAt: '2026-01-01T00:00:00.000000Z',
  service: 'identity',
  actorType: 'user',
  actorId: 'u-1',
  actorSessionId: null,
  action: 'identity.login.succeeded',
  targetType: 'User',
  targetId: 'u-1',
  outcome: 'success',
  reason: null,
  ip: null,
  userAgent: null,
  requestId: null,
  traceId: null,
  operationName: null,
  changes: null,
  prevHash: '0'.repeat(64),
  hash: '1'.repeat(64),
  ...overrides,
});

describe('liveFilter', () => {
  it('lets everything through with no field given, or an empty action', () => {
    expect(liveFilter({})(event())).toBe(true);
    expect(liveFilter({ action: '', actorId: null })(event())).toBe(true);
  });

  it.each([
    ['actorId', { actorId: 'u-1' }, { actorId: 'u-2' }],
    ['targetType', { targetType: 'User' }, { targetType: 'Role' }],
    ['targetId', { targetId: 'u-1' }, { targetId: null }],
    ['outcome', { outcome: 'success' as const }, { outcome: 'denied' }],
    ['service', { service: 'identity' }, { service: 'authz' }],
  ])('matches %s exactly', (_field, filter, other) => {
    expect(liveFilter(filter)(event())).toBe(true);
    expect(liveFilter(filter)(event(other))).toBe(false);
  });

  it('takes the action as a literal, case-sensitive prefix (no LIKE wildcards)', () => {
    expect(liveFilter({ action: 'identity.login.' })(event())).toBe(true);
    expect(liveFilter({ action: 'identity.login.succeeded' })(event())).toBe(true);
    expect(liveFilter({ action: 'identity.mfa.' })(event())).toBe(false);
    expect(liveFilter({ action: 'identity.%' })(event())).toBe(false);
    expect(liveFilter({ action: 'identity_login' })(event())).toBe(false);
    expect(liveFilter({ action: 'Identity.' })(event())).toBe(false);
  });

  it('needs every field given to match', () => {
    expect(liveFilter({ actorId: 'u-1', outcome: 'success', service: 'identity' })(event())).toBe(true);
    expect(liveFilter({ actorId: 'u-1', outcome: 'failure' })(event())).toBe(false);
  });

  it('refuses an overlong value with BAD_USER_INPUT naming the field', () => {
    expect(() => liveFilter({ targetType: 'x'.repeat(65) })).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'targetType' }) }));
    expect(() => liveFilter({ action: 'x'.repeat(129) })).toThrow(/at most 128/);
    expect(() => liveFilter({ service: 'x'.repeat(64) })).not.toThrow();
  });
});
