// Field authorization filter: Apollo Router's conformance vectors, then our own table of cases.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths';
import { buildSchema, Kind, parse, print, visit, type DocumentNode, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { filterOperation, TYPENAME_ALIAS, type AuthorizationCaller, type FilterResult } from './filter';
import { extractRequirements, protectedCoordinates } from './requirements';

/** The filter adds `__citadel_typename: __typename` for restore; the Router's documents do not have it. */
function withoutTypenameAlias(document: DocumentNode): DocumentNode {
  return visit(document, { Field: (node) => (node.alias?.value === TYPENAME_ALIAS ? null : undefined) });
}

function printed(result: FilterResult): string | null {
  return result.document ? print(withoutTypenameAlias(result.document)) : null;
}

const normalized = (query: string | null) => (query === null ? null : print(parse(query)));

// ---------------------------------------------------------------------------------------------
// Conformance: vectors read from Apollo Router's tests. They are ELv2, so they live outside the
// repository and are never copied in; without them this block does not run (and says so).

interface ConformanceCase {
  id: string;
  schema: string;
  caller: AuthorizationCaller;
  query: string;
  expected: { filtered: string | null; paths: string[] };
}

interface ConformanceFile {
  schemas: Record<string, string>;
  cases: ConformanceCase[];
}

// Apollo Router is ELv2: its vectors are read from the shared folder beside the repository, never copied in.
// Looked for in CITADEL_SHARED_DIR, beside the checkout, then in this machine's team folder.
const VECTORS = join('conformance', 'apollo-router-authorization.json');
const candidates = [process.env.CITADEL_SHARED_DIR, join(REPO_ROOT, '..', 'shared'), '/work/shared'].filter((d): d is string => !!d);
const conformancePath = candidates.map((dir) => join(dir, VECTORS)).find((path) => existsSync(path)) ?? join(candidates[0]!, VECTORS);
const conformanceExists = existsSync(conformancePath);
if (!conformanceExists) console.warn(`Router conformance vectors not found at ${conformancePath}; conformance tests not run`);
const conformance: ConformanceFile = conformanceExists
  ? (JSON.parse(readFileSync(conformancePath, 'utf8')) as ConformanceFile)
  : { schemas: {}, cases: [] };

describe.runIf(conformanceExists)('Apollo Router authorization conformance', () => {
  const schemas = new Map<string, GraphQLSchema>();
  const schemaFor = (key: string) => {
    let schema = schemas.get(key);
    if (!schema) schemas.set(key, (schema = buildSchema(conformance.schemas[key]!)));
    return schema;
  };

  it('has all 40 vectors', () => {
    expect(conformance.cases).toHaveLength(40);
  });

  for (const vector of conformance.cases) {
    it(vector.id, () => {
      const result = filterOperation({ schema: schemaFor(vector.schema), document: parse(vector.query), caller: vector.caller });
      expect(printed(result)).toBe(normalized(vector.expected.filtered));
      expect(result.unauthorizedPaths).toEqual(vector.expected.paths);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Our own cases on a small federation-like supergraph.

const LINK_PREAMBLE = `
  directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
  scalar link__Import
  enum link__Purpose { SECURITY EXECUTION }
`;

const schema = buildSchema(`
  schema
    @link(url: "https://specs.apollo.dev/link/v1.0")
    @link(url: "https://specs.apollo.dev/join/v0.4", for: EXECUTION)
    @link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)
    @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", import: ["@requiresScopes"])
    @link(url: "https://specs.apollo.dev/policy/v0.1", for: SECURITY)
  { query: Query mutation: Mutation }
  ${LINK_PREAMBLE}
  directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
  directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
  directive @policy(policies: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM

  type Query {
    me: User @authenticated
    user(id: ID!): User
    users: [User!]!
    node(id: ID!): Node
    search(text: String): [SearchResult]
    audit: AuditLog
    secretNumber: Int @policy(policies: [["owner"]])
  }
  type Mutation @requiresScopes(scopes: [["admin"]]) {
    disableUser(id: ID!): User
  }
  interface Node { id: ID! label: String }
  type User implements Node {
    id: ID!
    label: String
    name: String
    email: String @requiresScopes(scopes: [["identity.user.read"], ["self"]])
    friends: [User]
  }
  type Workspace implements Node {
    id: ID!
    label: String @policy(policies: [["member"]])
    title: String
  }
  type AuditLog implements Node @requiresScopes(scopes: [["audit.read"]]) {
    id: ID!
    label: String
    entries: [String]
  }
  union SearchResult = User | Workspace | AuditLog
`);

const anonymous: AuthorizationCaller = { authenticated: false, scopes: [], policies: [] };
const caller = (scopes: string[], policies: string[] = []): AuthorizationCaller => ({ authenticated: true, scopes, policies });

interface Row {
  name: string;
  query: string;
  caller: AuthorizationCaller;
  operationName?: string;
  filtered: string | null;
  paths: string[];
  denied?: string[];
}

const rows: Row[] = [
  {
    name: 'reports field names, not aliases, and keeps aliases in the document',
    query: '{ moi: me { name } u: user(id: "1") { mail: email n: name } }',
    caller: anonymous,
    filtered: '{ u: user(id: "1") { n: name } }',
    paths: ['/me', '/user/email'],
    denied: ['Query.me', 'User.email'],
  },
  {
    name: 'reports a named fragment used twice at each spread site',
    query: '{ user(id: "1") { ...U } users { ...U } } fragment U on User { name email }',
    caller: caller([]),
    filtered: '{ user(id: "1") { ...U } users { ...U } } fragment U on User { name }',
    paths: ['/user/email', '/users/@/email'],
  },
  {
    name: 'joins paths through nested fragments',
    query: '{ user(id: "1") { ...A } } fragment A on User { friends { ...B } } fragment B on User { name email }',
    caller: caller([]),
    filtered: '{ user(id: "1") { ...A } } fragment A on User { friends { ...B } } fragment B on User { name }',
    paths: ['/user/friends/@/email'],
  },
  {
    name: "names an inline fragment without type condition '... on ' as the Router does",
    query: '{ user(id: "1") { ... { email name } } }',
    caller: caller([]),
    filtered: '{ user(id: "1") { ... { name } } }',
    paths: ['/user/... on /email'],
  },
  {
    name: 'satisfies OR of AND lists with any one inner list',
    query: '{ user(id: "1") { email } }',
    caller: caller(['self']),
    filtered: '{ user(id: "1") { email } }',
    paths: [],
  },
  {
    name: 'removes an interface field when an implementing type is denied (rule 3)',
    query: '{ node(id: "1") { id } user(id: "1") { name } }',
    caller: caller([]),
    filtered: '{ user(id: "1") { name } }',
    paths: ['/node'],
    denied: ['AuditLog'],
  },
  {
    name: 'keeps an interface field that selects only __typename and fragments (rule 3 exception)',
    query: '{ node(id: "1") { __typename ... on User { id } ... on AuditLog { entries } } }',
    caller: caller([]),
    filtered: '{ node(id: "1") { __typename ... on User { id } } }',
    paths: ['/node/... on AuditLog'],
    denied: ['AuditLog'],
  },
  {
    name: "removes an interface's field when an implementor's same field is denied (rule 4)",
    query: '{ node(id: "1") { id label ... on Workspace { title } } }',
    caller: caller(['audit.read']),
    filtered: '{ node(id: "1") { id ... on Workspace { title } } }',
    paths: ['/node/label'],
    denied: ['Workspace.label'],
  },
  {
    name: "removes a union member's inline fragment and reports it under the list",
    query: '{ search(text: "x") { ... on User { name } ... on AuditLog { entries } ... on Workspace { title } } }',
    caller: caller([]),
    filtered: '{ search(text: "x") { ... on User { name } ... on Workspace { title } } }',
    paths: ['/search/@/... on AuditLog'],
  },
  {
    name: 'removes a fragment spread whose type is denied, then its emptied parent silently',
    query: '{ search { ...A } } fragment A on AuditLog { entries }',
    caller: caller([]),
    filtered: null,
    paths: ['/search/@/... on AuditLog'],
  },
  {
    name: "ends a removed list field's path with @ and drops the emptied list silently",
    query: '{ users { email } }',
    caller: caller([]),
    filtered: null,
    paths: ['/users/@/email'],
  },
  {
    name: 'removes the whole mutation when the root type is denied',
    query: 'mutation { disableUser(id: "1") { id } }',
    caller: caller(['identity.user.read']),
    filtered: null,
    paths: [''],
    denied: ['Mutation'],
  },
  {
    name: 'never removes __typename or introspection',
    query: '{ __typename __schema { queryType { name } } me { name } }',
    caller: anonymous,
    filtered: '{ __typename __schema { queryType { name } } }',
    paths: ['/me'],
  },
  {
    name: 'drops fragments and variables that become unused, keeps the ones still used',
    query:
      'query Q($id: ID!, $show: Boolean!) { user(id: $id) { name } audit @include(if: $show) { ...Log } } fragment Log on AuditLog { entries }',
    caller: caller([]),
    filtered: 'query Q($id: ID!) { user(id: $id) { name } }',
    paths: ['/audit'],
    denied: ['AuditLog'],
  },
  {
    name: 'filters only the operation named, and drops the others',
    query: 'query A { users { name } } query B { users { name email } secretNumber }',
    operationName: 'B',
    caller: caller([], ['owner']),
    filtered: 'query B { users { name } secretNumber }',
    paths: ['/users/@/email'],
  },
  {
    name: 'applies @policy with the caller policies',
    query: 'query A { users { name } } query B { users { name email } secretNumber }',
    operationName: 'B',
    caller: caller(['self']),
    filtered: 'query B { users { name email } }',
    paths: ['/secretNumber'],
    denied: ['Query.secretNumber'],
  },
];

describe('filterOperation', () => {
  it.each(rows)('$name', (row) => {
    const result = filterOperation({ schema, document: parse(row.query), operationName: row.operationName, caller: row.caller });
    expect(printed(result)).toBe(normalized(row.filtered));
    expect(result.unauthorizedPaths).toEqual(row.paths);
    if (row.denied) expect(result.deniedCoordinates).toEqual(row.denied);
  });

  it('returns the input document itself when nothing is removed', () => {
    const document = parse('query A { me { name email } } query B { users { id } }');
    const result = filterOperation({ schema, document, operationName: 'A', caller: caller(['self']) });
    expect(result.document).toBe(document);
    expect(result).toMatchObject({ unauthorizedPaths: [], deniedCoordinates: [], removed: new Map() });
  });

  it('does not mutate the input document (Apollo Server caches it)', () => {
    const document = parse(
      '{ u: user(id: "1") { ...U friends { email ... on User { email name } } } search { ... on AuditLog { id } ... on User { id } } } fragment U on User { email name }',
    );
    const before = JSON.stringify(document);
    const result = filterOperation({ schema, document, caller: anonymous });
    expect(result.document).not.toBe(document);
    expect(JSON.stringify(document)).toBe(before);
  });

  it('lists removed input nodes, reported or silent', () => {
    const document = parse('{ users { email } me { name } }');
    const result = filterOperation({ schema, document, caller: anonymous });
    const query = document.definitions[0]!;
    if (query.kind !== Kind.OPERATION_DEFINITION) throw new Error('expected an operation');
    const [users, me] = query.selectionSet.selections;
    const email = users!.kind === Kind.FIELD ? users!.selectionSet!.selections[0] : undefined;
    expect(result.removed).toEqual(
      new Map([
        [email, { reported: true }],
        [users, { reported: false }],
        [me, { reported: true }],
      ]),
    );
  });

  it('lists the top-level selections as reported when the root type is denied', () => {
    const document = parse('mutation { a: disableUser(id: "1") { id } b: disableUser(id: "2") { id } }');
    const result = filterOperation({ schema, document, caller: anonymous });
    expect([...result.removed.values()]).toEqual([{ reported: true }, { reported: true }]);
  });

  it('asks for the runtime type in abstract selection sets with fragments, once something is removed', () => {
    const query = '{ search { ... on User { name email } } node(id: "1") { id } users { id } }';
    const result = filterOperation({ schema, document: parse(query), caller: caller(['audit.read']) });
    expect(print(result.document!)).toBe(
      print(parse(`{ search { ... on User { name } ${TYPENAME_ALIAS}: __typename } node(id: "1") { id } users { id } }`)),
    );
  });

  it('asks under another alias when the client uses the alias itself, leaving its own selection as it is', () => {
    const query = `{ search { ${TYPENAME_ALIAS}: __typename ... on User { name email } } }`;
    const result = filterOperation({ schema, document: parse(query), caller: caller([]) });
    expect(print(result.document!)).toBe(
      print(parse(`{ search { ${TYPENAME_ALIAS}: __typename ... on User { name } ${TYPENAME_ALIAS}_1: __typename } }`)),
    );
  });

  it('accepts scopes and policies as sets', () => {
    const result = filterOperation({
      schema,
      document: parse('{ user(id: "1") { email } secretNumber }'),
      caller: { authenticated: true, scopes: new Set(['identity.user.read']), policies: new Set(['owner']) },
    });
    expect(result.unauthorizedPaths).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Directive recognition.

describe('directive recognition', () => {
  const filterPaths = (sdl: string, query: string) =>
    filterOperation({ schema: buildSchema(sdl), document: parse(query), caller: anonymous }).unauthorizedPaths;

  it('follows as: and import renames of the authorization specs', () => {
    const sdl = `
      schema
        @link(url: "https://specs.apollo.dev/authenticated/v0.1", as: "auth")
        @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", import: [{ name: "@requiresScopes", as: "@scopes" }])
        @link(url: "https://specs.apollo.dev/policy/v0.1", as: "pol", for: SECURITY)
      { query: Query }
      ${LINK_PREAMBLE}
      directive @auth on FIELD_DEFINITION
      directive @scopes(scopes: [[String!]!]!) on FIELD_DEFINITION
      directive @pol(policies: [[String!]!]!) on FIELD_DEFINITION
      type Query { a: Int @auth b: Int @scopes(scopes: [["x"]]) c: Int @pol(policies: [["p"]]) d: Int }
    `;
    expect(filterPaths(sdl, '{ a b c d }')).toEqual(['/a', '/b', '/c']);
  });

  it('ignores a directive of the same name that comes from another spec', () => {
    const sdl = `
      schema
        @link(url: "https://specs.apollo.dev/requiresScopes/v0.1")
        @link(url: "https://example.com/other/v1.0", import: ["@authenticated", "@policy"])
      { query: Query }
      ${LINK_PREAMBLE}
      directive @authenticated on FIELD_DEFINITION
      directive @policy(policies: [[String!]!]!) on FIELD_DEFINITION
      directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION
      type Query { a: Int @authenticated b: Int @policy(policies: [["p"]]) c: Int @requiresScopes(scopes: [["x"]]) }
    `;
    expect(filterPaths(sdl, '{ a b c }')).toEqual(['/c']);
  });

  it('reads a Federation v2.7 subgraph: imports, import renames and non-imported federation__ names', () => {
    const sdl = `
      extend schema
        @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@authenticated", { name: "@requiresScopes", as: "@scoped" }])
      ${LINK_PREAMBLE}
      directive @key(fields: String!) repeatable on OBJECT | INTERFACE
      directive @authenticated on FIELD_DEFINITION | OBJECT
      directive @scoped(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT
      directive @federation__policy(policies: [[String!]!]!) on FIELD_DEFINITION | OBJECT
      type Query { user: User a: Int @scoped(scopes: [["x"]]) b: Int @federation__policy(policies: [["p"]]) c: Int }
      type User @key(fields: "id") @authenticated { id: ID! }
    `;
    expect(filterPaths(sdl, '{ user { id } a b c }')).toEqual(['/user', '/a', '/b']);
  });

  it('does not read authorization from Federation before v2.5', () => {
    const sdl = `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@authenticated"])
      ${LINK_PREAMBLE}
      directive @authenticated on FIELD_DEFINITION
      type Query { a: Int @authenticated b: Int }
    `;
    expect(filterPaths(sdl, '{ a b }')).toEqual([]);
  });

  it('falls back to the plain names in a schema without any @link', () => {
    const sdl = `
      directive @authenticated on FIELD_DEFINITION
      directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION
      type Query { a: Int @authenticated b: Int @requiresScopes(scopes: [["x"]]) c: Int }
    `;
    expect(filterPaths(sdl, '{ a b c }')).toEqual(['/a', '/b']);
  });

  it('memoizes requirements per schema and lists protected coordinates sorted', () => {
    expect(extractRequirements(schema)).toBe(extractRequirements(schema));
    expect(protectedCoordinates(schema)).toEqual([
      { coordinate: 'AuditLog', kind: 'type', authenticated: false, scopes: [['audit.read']], policies: null },
      { coordinate: 'Mutation', kind: 'type', authenticated: false, scopes: [['admin']], policies: null },
      { coordinate: 'Query.me', kind: 'field', authenticated: true, scopes: null, policies: null },
      { coordinate: 'Query.secretNumber', kind: 'field', authenticated: false, scopes: null, policies: [['owner']] },
      { coordinate: 'User.email', kind: 'field', authenticated: false, scopes: [['identity.user.read'], ['self']], policies: null },
      { coordinate: 'Workspace.label', kind: 'field', authenticated: false, scopes: null, policies: [['member']] },
    ]);
  });

  // The gateway builds with assumeValidSDL, so a second application through an extension can reach us.
  it('requires every directive when a type and its extension both carry one', () => {
    const sdl = `
      directive @requiresScopes(scopes: [[String!]!]!) on OBJECT
      type Query { t: T }
      type T @requiresScopes(scopes: [["a"], ["b"]]) { f: Int }
      extend type T @requiresScopes(scopes: [["c"]])
    `;
    expect(extractRequirements(buildSchema(sdl, { assumeValidSDL: true })).types.get('T')?.scopes).toEqual([
      ['a', 'c'],
      ['b', 'c'],
    ]);
  });
});
