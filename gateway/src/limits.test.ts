// Operation limits: depth, aliases and root fields, counted through fragments.
import { buildSchema, parse, validate, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { documentNesting, nestingError, nestingLimitPlugin, operationLimitsRule, variableCoercionPlugin } from './limits';

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

describe('document nesting', () => {
  it('counts braces, brackets and parentheses, skipping strings, block strings and comments', () => {
    expect(documentNesting('{ me { id } }')).toBe(2);
    expect(documentNesting('{ a(x: [[1]]) }')).toBe(4);
    expect(documentNesting('{ a(x: "{{{{[[[[") # {{{{{\n }')).toBe(2);
    expect(documentNesting('{ a(x: """ {{{ \\""" {{{ """) }')).toBe(2);
    expect(documentNesting('{ a(x: "\\" {{{") }')).toBe(2);
  });

  // Threat: a 20 KB document nested 10 000 deep overflowed graphql-js's recursive parser: a 500.
  it('stops counting past the limit and refuses with MAX_NESTING_LIMIT', () => {
    const deep = `${'{ a '.repeat(10_000)}${'}'.repeat(10_000)}`;
    expect(documentNesting(deep, 256)).toBe(257);
    expect(nestingError(deep, 256)?.extensions.code).toBe('MAX_NESTING_LIMIT');
    expect(nestingError('{ me { id } }', 256)).toBeUndefined();
    expect(() => nestingLimitPlugin(0)).toThrow(/positive integer/);
  });
});

describe('variable coercion', () => {
  const inputSchema = buildSchema('input In { a: Int } type Query { f(i: In): Int }');
  const respond = async (variables: Record<string, unknown>, query = 'query($i: In) { f(i: $i) }') => {
    const document = parse(query);
    const operation = document.definitions[0] as OperationDefinitionNode;
    const listener = await variableCoercionPlugin().requestDidStart!({} as never);
    return listener!.responseForOperation!({ schema: inputSchema, operation, request: { variables } } as never);
  };

  // Threat: 30 000 unknown keys made @apollo/gateway build 30 000 errors quoting the whole value: out of memory.
  it('answers bad variables with at most 50 BAD_USER_INPUT errors of bounded length', async () => {
    const errorsFor = async (keys: number) => {
      const response = await respond({ i: Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i])) });
      expect(response?.http?.status).toBe(400);
      const { errors } = (response?.body as unknown as { singleResult: { errors: { message: string; extensions: { code: string } }[] } }).singleResult;
      expect(errors.every((e) => e.extensions.code === 'BAD_USER_INPUT' && e.message.length <= 2_001)).toBe(true);
      return errors;
    };
    expect((await errorsFor(900)).length).toBe(51); // 50, then graphql-js's "Too many errors"
    expect((await errorsFor(30_000)).map((e) => e.message)).toEqual(['Variables hold an object with more than 1000 fields']);
  });

  it('lets valid variables through to the gateway', async () => {
    expect(await respond({ i: { a: 1 } })).toBeNull();
    expect(await respond({}, '{ f }')).toBeNull();
  });
});
