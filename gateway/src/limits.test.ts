// Operation limits: depth, aliases and root fields, counted through fragments.
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationLimitsRule } from './limits';

const schema = buildSchema(`
  type Query { me: User, a: Int, b: Int, c: Int }
  type User { id: ID!, friend: User }
`);
const rule = operationLimitsRule({ maxDepth: 3, maxAliases: 2, maxRootFields: 2 });
const codes = (query: string) => validate(schema, parse(query), [rule]).map((e) => e.extensions.code);

describe('operation limits', () => {
  it('lets an operation inside every limit through', () => {
    expect(codes('{ me { friend { id } } a }')).toEqual([]);
  });

  it('refuses depth past the limit, counting through named and inline fragments', () => {
    expect(codes('{ me { friend { friend { id } } } }')).toEqual(['MAX_DEPTH_LIMIT']);
    expect(codes('{ me { ...F } } fragment F on User { friend { ... on User { friend { id } } } }')).toEqual([
      'MAX_DEPTH_LIMIT',
    ]);
  });

  it('does not count introspection fields toward depth', () => {
    expect(codes('{ __schema { types { fields { type { ofType { ofType { name } } } } } } }')).toEqual([]);
  });

  it('refuses too many aliases, counting a fragment at each use', () => {
    expect(codes('{ x: a y: b z: c }')).toContain('MAX_ALIASES_LIMIT');
    expect(codes('{ me { ...F } m2: me { ...F } } fragment F on User { i: id }')).toContain('MAX_ALIASES_LIMIT');
  });

  it('refuses too many root fields, fragments included, __typename not counted', () => {
    expect(codes('{ a b __typename }')).toEqual([]);
    expect(codes('{ a ...R } fragment R on Query { b c }')).toEqual(['MAX_ROOT_FIELDS_LIMIT']);
  });

  it('counts aliases inside introspection, though not its depth', () => {
    expect(codes('{ __schema { a: types { b: name c: name } } }')).toEqual(['MAX_ALIASES_LIMIT']);
  });

  // Threat: a 1 KB document of fragments each spreading the next twice costs 2^n to walk naively
  // (2^40 here: a naive walk never finishes, so this test would time out).
  it('measures nested fragment spreads once each', () => {
    const levels = 40;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1 ? `fragment F${i} on User { id }` : `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`,
    ).join(' ');
    expect(validate(schema, parse(`{ me { ...F0 } } ${fragments}`), [rule])).toEqual([]);
  });

  it('survives a fragment cycle (graphql reports the cycle itself)', () => {
    expect(() => codes('{ me { ...A } } fragment A on User { friend { ...B } } fragment B on User { friend { ...A } }')).not.toThrow();
  });
});
