// Restoring removed fields: execute the filtered document, put the removed fields back as null with errors.
import { buildSchema, execute, parse, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { filterOperation, TYPENAME_ALIAS, type AuthorizationCaller } from './filter';
import { restoreRemovedFields } from './restore';

const schema = buildSchema(`
  schema
    @link(url: "https://specs.apollo.dev/link/v1.0")
    @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", import: ["@requiresScopes"])
  { query: Query }
  directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
  scalar link__Import
  enum link__Purpose { SECURITY EXECUTION }
  directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM

  type Query {
    user: User
    users: [User!]
    account: Account!
    search: [SearchResult]
    node: Node
    ping: String
  }
  interface Node { id: ID! }
  type User implements Node {
    id: ID!
    name: String
    email: String @requiresScopes(scopes: [["read:email"]])
    secret: String! @requiresScopes(scopes: [["read:secret"]])
  }
  type Account { id: ID! balance: Int! @requiresScopes(scopes: [["read:balance"]]) }
  type Workspace implements Node { id: ID! title: String }
  type Audit @requiresScopes(scopes: [["audit"]]) { id: ID! note: String }
  union SearchResult = User | Workspace | Audit
`);

const user = (id: string) => ({ __typename: 'User', id, name: `name ${id}`, email: `${id}@example.com`, secret: `s${id}` });
const rootValue = {
  user: user('1'),
  users: [user('1'), user('2'), user('3')],
  account: { id: 'acc', balance: 10 },
  search: [user('1'), { __typename: 'Workspace', id: 'w', title: 'Work' }, { __typename: 'Audit', id: 'a', note: 'n' }, user('4')],
  node: user('1'),
  ping: 'pong',
};

const nobody: AuthorizationCaller = { authenticated: true, scopes: [], policies: [] };
const UNAUTHORIZED = { message: 'Unauthorized field or type', extensions: { code: 'UNAUTHORIZED_FIELD_OR_TYPE' } };

/** What the gateway does: filter, execute the filtered document, restore against the original. */
function run(query: string, caller: AuthorizationCaller = nobody) {
  const document = parse(query);
  const filtered = filterOperation({ schema, document, caller });
  const executed = filtered.document
    ? (execute({ schema, document: filtered.document, rootValue }) as ExecutionResult)
    : { data: {} };
  expect(executed.errors).toBeUndefined();
  const restored = restoreRemovedFields({ schema, document, removed: filtered.removed, data: executed.data });
  return { filtered, executed, restored, errors: restored.errors.map((error) => error.toJSON()) };
}

describe('restoreRemovedFields', () => {
  it('puts a removed nullable field back as null with one error at its aliased path', () => {
    const { restored, errors } = run('{ user { id mail: email } }');
    expect(restored.data).toEqual({ user: { id: '1', mail: null } });
    expect(errors).toEqual([{ ...UNAUTHORIZED, path: ['user', 'mail'], locations: [{ line: 1, column: 13 }] }]);
  });

  it('propagates a removed non-null field to its nullable parent', () => {
    const { restored, errors } = run('{ user { id secret } ping }');
    expect(restored.data).toEqual({ user: null, ping: 'pong' });
    expect(errors).toMatchObject([{ path: ['user', 'secret'] }]);
  });

  it('propagates through a list of non-null items to the list', () => {
    const { restored, errors } = run('{ users { id secret } ping }');
    expect(restored.data).toEqual({ users: null, ping: 'pong' });
    expect(errors).toMatchObject([{ path: ['users', 0, 'secret'] }]);
  });

  it('propagates to the root when every parent is non-null', () => {
    const { restored, errors } = run('{ account { id balance } ping }');
    expect(restored.data).toBeNull();
    expect(errors).toMatchObject([{ path: ['account', 'balance'] }]);
  });

  it('answers a list of 3 items with 3 nulls and one error, at the first item', () => {
    const { restored, errors } = run('{ users { id email } }');
    expect(restored.data).toEqual({
      users: [
        { id: '1', email: null },
        { id: '2', email: null },
        { id: '3', email: null },
      ],
    });
    expect(errors).toMatchObject([{ path: ['users', 0, 'email'] }]);
  });

  it('nulls a field removed inside an inline fragment on a union member only on objects of that type', () => {
    const { restored, errors } = run('{ search { ... on User { name email } ... on Workspace { title } } }');
    expect(restored.data).toEqual({
      search: [{ name: 'name 1', email: null }, { title: 'Work' }, {}, { name: 'name 4', email: null }],
    });
    expect(errors).toMatchObject([{ path: ['search', 0, 'email'] }]);
  });

  it('nulls the fields of a removed fragment spread on the objects it applies to', () => {
    const { filtered, restored, errors } = run('{ search { ... on Workspace { id } ...AuditBits } } fragment AuditBits on Audit { note }');
    expect(filtered.unauthorizedPaths).toEqual(['/search/@/... on Audit']);
    expect(restored.data).toEqual({ search: [{}, { id: 'w' }, { note: null }, {}] });
    expect(errors).toMatchObject([{ path: ['search', 2, 'note'] }]);
  });

  it('strips the typename alias the filter added from every object', () => {
    const { executed, restored } = run('{ search { ... on User { email } ... on Workspace { title } } node { id ... on User { name } } user { id email } }');
    expect(JSON.stringify(executed.data)).toContain(TYPENAME_ALIAS);
    expect(JSON.stringify(restored.data)).not.toContain(TYPENAME_ALIAS);
    expect(restored.data).toEqual({
      search: [{ email: null }, { title: 'Work' }, {}, { email: null }],
      node: { id: '1', name: 'name 1' },
      user: { id: '1', email: null },
    });
  });

  it('returns the same data and no errors when nothing was removed', () => {
    const { filtered, executed, restored } = run('{ user { id email } }', { authenticated: true, scopes: ['read:email'], policies: [] });
    expect(filtered.removed.size).toBe(0);
    expect(restored.data).toBe(executed.data);
    expect(restored.errors).toEqual([]);
  });

  it('answers an operation removed as a whole with a null and an error per root field', () => {
    const { filtered, restored, errors } = run('{ a: users { email } u: user { secret } }');
    expect(filtered.document).toBeNull();
    expect(restored.data).toEqual({ a: null, u: null });
    expect(errors).toMatchObject([{ path: ['a'] }, { path: ['u'] }]);
  });

  it('explains a field removed silently (its selections were all removed) with the errors beneath it', () => {
    const { filtered, restored, errors } = run('{ node { ... on User { email } } ping }');
    expect(filtered.unauthorizedPaths).toEqual(['/node/... on User/email']);
    expect(restored.data).toEqual({ node: null, ping: 'pong' });
    expect(errors).toMatchObject([{ path: ['node'], locations: [{ line: 1, column: 24 }] }]);
  });

  it('still knows the runtime type when the client uses the alias itself, even for another field', () => {
    const { restored, errors } = run(`{ search { ${TYPENAME_ALIAS}: __typename ... on SearchResult { ... on User { email name } } } }`);
    expect(restored.data).toEqual({
      search: [
        { [TYPENAME_ALIAS]: 'User', email: null, name: 'name 1' },
        { [TYPENAME_ALIAS]: 'Workspace' },
        { [TYPENAME_ALIAS]: 'Audit' },
        { [TYPENAME_ALIAS]: 'User', email: null, name: 'name 4' },
      ],
    });
    expect(errors).toMatchObject([{ path: ['search', 0, 'email'] }]);
    const other = run(`{ search { ... on User { ${TYPENAME_ALIAS}: name email } } }`);
    expect(other.restored.data).toEqual({ search: [{ [TYPENAME_ALIAS]: 'name 1', email: null }, {}, {}, { [TYPENAME_ALIAS]: 'name 4', email: null }] });
  });

  it('leaves out a removed field that @skip or @include leaves out', () => {
    const query = 'query ($with: Boolean!) { user { id a: email @skip(if: true) b: email @include(if: $with) c: email @include(if: true) } }';
    const document = parse(query);
    const filtered = filterOperation({ schema, document, caller: nobody });
    const executed = execute({ schema, document: filtered.document!, rootValue, variableValues: { with: false } }) as ExecutionResult;
    const restored = restoreRemovedFields({ schema, document, removed: filtered.removed, data: executed.data, variables: { with: false } });
    expect(restored.data).toEqual({ user: { id: '1', c: null } });
    expect(restored.errors.map((error) => error.path)).toEqual([['user', 'c']]);
  });

  it('matches executing the original with the removed values as null', () => {
    const query = '{ user { id mail: email } users { id name } search { ... on User { name email } } }';
    const { restored } = run(query);
    const nulled = (value: ReturnType<typeof user>) => ({ ...value, email: null });
    const original = execute({
      schema,
      document: parse(query),
      rootValue: { ...rootValue, user: nulled(rootValue.user), search: rootValue.search.map((item) => (item.__typename === 'User' ? nulled(item as ReturnType<typeof user>) : item)) },
    }) as ExecutionResult;
    expect(restored.data).toEqual(original.data);
  });
});
