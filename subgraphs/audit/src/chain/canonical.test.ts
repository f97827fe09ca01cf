import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { canonicalEvent, canonicalJson, chainHash, chainTime, GENESIS_HASH, type ChainedEvent } from './canonical';

const event: ChainedEvent = {
  seq: 7,
  id: '0b5e7d8e-1111-4a2b-8c3d-000000000001',
  occurredAt: '2026-01-02T03:04:05.678000Z',
  recordedAt: '2026-01-02T03:04:06.000001Z',
  service: 'identity',
  actorType: 'user',
  actorId: 'u1',
  actorSessionId: null,
  action: 'identity.login.succeeded',
  targetType: 'User',
  targetId: 'u1',
  outcome: 'success',
  reason: null,
  ip: '203.0.113.7',
  userAgent: 'ua "quoted" \\ é',
  requestId: 'r1',
  traceId: null,
  operationName: 'Login',
  changes: { before: null, after: { b: [1, 2.5, { y: true, x: null }], a: 'é' } },
};

describe('canonicalJson', () => {
  it('sorts keys at every depth by UTF-16 code units and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: null }, A: 'x', é: 1, '\u{1F600}': 2, z: 3 })).toBe(
      '{"A":"x","a":{"c":null,"d":[3,{"e":2,"f":1}]},"b":1,"z":3,"é":1,"\u{1F600}":2}',
    );
  });

  it('writes numbers and strings as JSON.stringify does', () => {
    expect(canonicalJson([1e21, 0.1, -0, 1.5e-7, 'a"b\\c\n\u0001'])).toBe('[1e+21,0.1,0,1.5e-7,"a\\"b\\\\c\\n\\u0001"]');
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, undefined, () => 1, 10n])('refuses %s, which is not JSON', (value) => {
    expect(() => canonicalJson({ value })).toThrow(TypeError);
  });
});

describe('canonicalEvent', () => {
  it('is the sorted-key JSON of exactly the chained fields', () => {
    const fields = JSON.parse(canonicalEvent(event)) as Record<string, unknown>;
    expect(Object.keys(fields)).toEqual(Object.keys(event).sort());
    expect(fields).toEqual(event);
    expect(canonicalEvent(event)).toBe(canonicalJson(event));
  });

  it('ignores anything that is not a chained field (hashes, export kind)', () => {
    expect(canonicalEvent({ ...event, hash: 'x', prevHash: 'y', kind: 'event' } as ChainedEvent)).toBe(canonicalEvent(event));
  });

  it('differs when only a null moves between columns', () => {
    expect(canonicalEvent({ ...event, targetType: null, targetId: 'u1' })).not.toBe(canonicalEvent({ ...event, targetType: 'u1', targetId: null }));
  });
});

describe('chainHash', () => {
  it('is sha256 of the previous hash (hex text) followed by the canonical event', () => {
    const expected = createHash('sha256').update(`${GENESIS_HASH}${canonicalJson(event)}`, 'utf8').digest('hex');
    expect(chainHash(GENESIS_HASH, event)).toBe(expected);
    expect(chainHash('f'.repeat(64), event)).not.toBe(expected);
    expect(chainHash(GENESIS_HASH, { ...event, seq: 8 })).not.toBe(expected);
  });
});

describe('chainTime', () => {
  it('writes UTC with six fractional digits, as PostgreSQL to_char(…US) does', () => {
    expect(chainTime(new Date('2026-03-01T12:00:00.123+02:00'))).toBe('2026-03-01T10:00:00.123000Z');
  });
});
