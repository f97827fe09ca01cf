// The real gateway stack in-process (Apollo Server → AuthorizingGateway → @apollo/gateway) over two
// subgraphs served on real HTTP: per-caller filtering, restored nulls and errors, and plan caching.
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { Caller } from '@citadel/kit/auth';
import { createLogger } from '@citadel/kit/logger';
import { parse } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthorizingGateway, type AuthorizationMode } from './authorizing-gateway';
import type { GatewayContext } from './context';
import { forPlanner } from './supergraph';

const logger = createLogger('test', 'silent');
const UNAUTHORIZED = 'UNAUTHORIZED_FIELD_OR_TYPE';

const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@authenticated", "@requiresScopes", "@policy"])';

// ---------------------------------------------------------------------------------------------
// Subgraphs: fixed data, every resolver call that matters counted, every query received recorded.

const PRODUCTS_SDL = `${LINK}
  interface Node { id: ID! }
  type Product implements Node @key(fields: "id") {
    id: ID!
    name: String!
    price: Int @requiresScopes(scopes: [["products.price.read"]])
    internalCode: String! @requiresScopes(scopes: [["products.admin"]])
    supplier: String @policy(policies: [["mfa"]])
  }
  type Secret implements Node @authenticated { id: ID! code: String }
  union SearchResult = Product | Secret
  type Stats @authenticated { count: Int }
  type Query {
    products: [Product!]!
    product(id: ID!): Product
    node(id: ID!): Node
    search: [SearchResult!]!
    adminStats: Stats @requiresScopes(scopes: [["products.admin"]])
  }
  type Mutation {
    ping: String!
    setPrice(id: ID!, price: Int!): Product @requiresScopes(scopes: [["products.admin"]])
  }
`;

const REVIEWS_SDL = `${LINK}
  type Product @key(fields: "id") {
    id: ID!
    reviews: [Review!]!
  }
  type Review {
    body: String!
    author: String @requiresScopes(scopes: [["reviews.author.read"]])
  }
`;

interface ProductRow {
  id: string;
  name: string;
  price: number;
  internalCode: string;
  supplier: string;
}

const PRODUCTS: readonly ProductRow[] = [
  { id: 'p1', name: 'Lamp', price: 100, internalCode: 'L-1', supplier: 'Acme' },
  { id: 'p2', name: 'Desk', price: 250, internalCode: 'D-2', supplier: 'Globex' },
];
const SECRETS = [{ id: 's1', code: 'xyzzy' }];
const REVIEWS: Record<string, Array<{ body: string; author: string }>> = {
  p1: [
    { body: 'Bright', author: 'ann' },
    { body: 'Too small', author: 'bob' },
  ],
  p2: [{ body: 'Sturdy', author: 'cy' }],
};

const calls = { setPrice: 0 };
const received: Record<'products' | 'reviews', string[]> = { products: [], reviews: [] };

const typeOf = (value: { id: string }) => (value.id.startsWith('s') ? 'Secret' : 'Product');
const byId = (id: string) => PRODUCTS.find((p) => p.id === id) ?? SECRETS.find((s) => s.id === id) ?? null;

const productsResolvers: GraphQLResolverMap<unknown> = {
  Query: {
    products: () => PRODUCTS,
    product: (_: unknown, { id }: { id: string }) => PRODUCTS.find((p) => p.id === id) ?? null,
    node: (_: unknown, { id }: { id: string }) => byId(id),
    search: () => [PRODUCTS[0], SECRETS[0]],
    adminStats: () => ({ count: PRODUCTS.length }),
  },
  Mutation: {
    ping: () => 'pong',
    setPrice: (_: unknown, { id, price }: { id: string; price: number }) => {
      calls.setPrice++;
      const product = PRODUCTS.find((p) => p.id === id);
      return product ? { ...product, price } : null;
    },
  },
  Node: { __resolveType: typeOf },
  SearchResult: { __resolveType: typeOf },
  Product: { __resolveReference: ({ id }: { id: string }) => PRODUCTS.find((p) => p.id === id) ?? null },
};

const reviewsResolvers: GraphQLResolverMap<unknown> = {
  Product: {
    __resolveReference: ({ id }: { id: string }) => ({ id }),
    reviews: ({ id }: { id: string }) => REVIEWS[id] ?? [],
  },
};

function recording(name: keyof typeof received): ApolloServerPlugin {
  return {
    async requestDidStart({ request }) {
      received[name].push(request.query ?? '');
    },
  };
}

async function startSubgraph(name: keyof typeof received, sdl: string, resolvers: GraphQLResolverMap<unknown>) {
  const server = new ApolloServer({
    schema: buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers }]),
    plugins: [recording(name)],
    logger,
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { server, url };
}

// ---------------------------------------------------------------------------------------------
// Callers.

function caller(userId: string | null, permissions: string[] = [], policies: string[] = []): Caller {
  return { userId, sessionId: userId ? `session-${userId}` : null, permissions, policies };
}

const ANONYMOUS = caller(null);
const USER = caller('u1');
const PRICE_READER = caller('u2', ['products.price.read']);
const ADMIN = caller('u3', ['products.price.read', 'products.admin']);
const REVIEW_READER = caller('u4', ['reviews.author.read']);
const MFA = caller('u5', [], ['mfa']);
const EVERYTHING = caller('u6', ['products.price.read', 'products.admin', 'reviews.author.read'], ['mfa']);

// ---------------------------------------------------------------------------------------------
// The gateway stack.

const stops: Array<() => Promise<void>> = [];
const gateways = {} as Record<AuthorizationMode, ApolloServer<GatewayContext>>;

beforeAll(async () => {
  const products = await startSubgraph('products', PRODUCTS_SDL, productsResolvers);
  stops.push(() => products.server.stop());
  const reviews = await startSubgraph('reviews', REVIEWS_SDL, reviewsResolvers);
  stops.push(() => reviews.server.stop());
  const composed = composeServices([
    { name: 'products', url: products.url, typeDefs: parse(PRODUCTS_SDL) },
    { name: 'reviews', url: reviews.url, typeDefs: parse(REVIEWS_SDL) },
  ]);
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  // The composed supergraph really carries the security links forPlanner has to strip.
  expect(composed.supergraphSdl).toMatch(/requiresScopes\/v0\.1"[^)]*for: SECURITY/);
  for (const mode of ['filter', 'reject'] as const) {
    const server = new ApolloServer<GatewayContext>({
      gateway: new AuthorizingGateway(
        new ApolloGateway({
          supergraphSdl: forPlanner(composed.supergraphSdl),
          buildService: ({ url }) => new RemoteGraphQLDataSource({ url }),
          logger,
        }),
        { mode },
      ),
      introspection: true,
      logger,
    });
    await server.start();
    stops.unshift(() => server.stop());
    gateways[mode] = server;
  }
});

afterAll(async () => {
  for (const stop of stops) await stop();
});

beforeEach(() => {
  received.products.length = 0;
  received.reviews.length = 0;
  calls.setPrice = 0;
});

interface Outcome {
  data: unknown;
  errors: Array<{ code: unknown; path: unknown }> | undefined;
  raw: { data?: unknown; errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> };
}

async function run(as: Caller, query: string, options: { variables?: Record<string, unknown>; operationName?: string; mode?: AuthorizationMode } = {}): Promise<Outcome> {
  const response = await gateways[options.mode ?? 'filter'].executeOperation(
    { query, variables: options.variables, operationName: options.operationName },
    { contextValue: { caller: as, client: { ip: null, userAgent: null }, requestId: 'test', logger } },
  );
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  const result = response.body.singleResult;
  return {
    data: result.data,
    errors: result.errors?.map((error) => ({ code: error.extensions?.code, path: error.path })),
    raw: result as Outcome['raw'],
  };
}

const denied = (...path: Array<string | number>) => ({ code: UNAUTHORIZED, path });

/** The subgraph operations sent so far, as one string per subgraph. */
const sent = (name: keyof typeof received) => received[name].join('\n');

// ---------------------------------------------------------------------------------------------
// Filter mode: a table of (caller, query) → exact data and errors.

interface Row {
  name: string;
  as: Caller;
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  data: unknown;
  /** undefined: the response must carry no `errors` entry at all. */
  errors?: Array<{ code: string; path: Array<string | number> }>;
}

const lamp = { name: 'Lamp' };
const desk = { name: 'Desk' };

const nullability: Row[] = [
  {
    name: 'anonymous: a nullable protected field is null with one error per path pattern',
    as: ANONYMOUS,
    query: '{ products { id name price } }',
    data: { products: [{ id: 'p1', ...lamp, price: null }, { id: 'p2', ...desk, price: null }] },
    errors: [denied('products', 0, 'price')],
  },
  {
    name: 'anonymous: a non-null protected field nulls its nullable parent only',
    as: ANONYMOUS,
    query: '{ product(id: "p1") { name internalCode } products { name } }',
    data: { product: null, products: [lamp, desk] },
    errors: [denied('product', 'internalCode')],
  },
  {
    name: 'anonymous: a non-null protected field under [Product!]! propagates to data itself',
    as: ANONYMOUS,
    query: '{ products { name internalCode } }',
    data: null,
    errors: [denied('products', 0, 'internalCode')],
  },
  {
    name: 'anonymous: an object whose only selection is removed is null, the error at the deepest path there is',
    as: ANONYMOUS,
    query: '{ product(id: "p2") { price } products { name } }',
    data: { product: null, products: [lamp, desk] },
    errors: [denied('product')],
  },
  {
    name: 'with products.price.read: the real price, no errors',
    as: PRICE_READER,
    query: '{ products { id name price } }',
    data: { products: [{ id: 'p1', ...lamp, price: 100 }, { id: 'p2', ...desk, price: 250 }] },
  },
  {
    name: 'with products.price.read but not products.admin: price shown, internalCode denied',
    as: PRICE_READER,
    query: '{ product(id: "p2") { price internalCode } }',
    data: { product: null },
    errors: [denied('product', 'internalCode')],
  },
  {
    name: 'with products.admin: internalCode shown',
    as: ADMIN,
    query: '{ products { name internalCode } }',
    data: { products: [{ ...lamp, internalCode: 'L-1' }, { ...desk, internalCode: 'D-2' }] },
  },
  {
    name: 'type-level @authenticated plus field @requiresScopes: anonymous is denied',
    as: ANONYMOUS,
    query: '{ adminStats { count } }',
    data: { adminStats: null },
    errors: [denied('adminStats')],
  },
  {
    name: 'type-level @authenticated plus field @requiresScopes: authenticated without the scope is denied',
    as: USER,
    query: '{ adminStats { count } product(id: "p1") { name } }',
    data: { adminStats: null, product: lamp },
    errors: [denied('adminStats')],
  },
  {
    name: 'type-level @authenticated plus field @requiresScopes: authenticated with the scope',
    as: ADMIN,
    query: '{ adminStats { count } }',
    data: { adminStats: { count: 2 } },
  },
];

const shapes: Row[] = [
  {
    name: 'an alias is null at the alias path',
    as: ANONYMOUS,
    query: '{ products { p: price name } }',
    data: { products: [{ p: null, ...lamp }, { p: null, ...desk }] },
    errors: [denied('products', 0, 'p')],
  },
  {
    name: 'two aliases of the same protected field',
    as: ANONYMOUS,
    query: '{ product(id: "p1") { a: price b: price name } }',
    data: { product: { a: null, b: null, ...lamp } },
    errors: [denied('product', 'a'), denied('product', 'b')],
  },
  {
    name: 'a named fragment used twice reports each use site',
    as: ANONYMOUS,
    query: `query Twice { products { ...Priced } product(id: "p2") { ...Priced } }
      fragment Priced on Product { name cost: price }`,
    operationName: 'Twice',
    data: { products: [{ ...lamp, cost: null }, { ...desk, cost: null }], product: { ...desk, cost: null } },
    errors: [denied('products', 0, 'cost'), denied('product', 'cost')],
  },
  {
    name: 'inline fragments, with and without type condition',
    as: ANONYMOUS,
    query: '{ product(id: "p1") { ... on Product { c: price } ... { name } } }',
    data: { product: { c: null, ...lamp } },
    errors: [denied('product', 'c')],
  },
  {
    name: 'nested named fragments',
    as: ANONYMOUS,
    query: `{ product(id: "p2") { ...Outer } }
      fragment Outer on Product { name ...Inner }
      fragment Inner on Product { ... on Product { deep: price } }`,
    data: { product: { ...desk, deep: null } },
    errors: [denied('product', 'deep')],
  },
  {
    name: 'a fragment holding only a protected field',
    as: ANONYMOUS,
    query: '{ product(id: "p1") { name ...OnlyPrice } } fragment OnlyPrice on Product { price }',
    data: { product: { ...lamp, price: null } },
    errors: [denied('product', 'price')],
  },
  {
    name: 'the same shapes with the scope give the real values',
    as: PRICE_READER,
    query: `{ products { p: price ...Priced } product(id: "p1") { ... on Product { c: price } ...Outer } }
      fragment Priced on Product { cost: price }
      fragment Outer on Product { name ...Inner }
      fragment Inner on Product { deep: price }`,
    data: {
      products: [
        { p: 100, cost: 100 },
        { p: 250, cost: 250 },
      ],
      product: { c: 100, ...lamp, deep: 100 },
    },
  },
  {
    name: 'variables still used after filtering are kept, unused ones dropped',
    as: ANONYMOUS,
    query: 'query ($id: ID!, $other: ID!) { product(id: $id) { name price } node(id: $other) { id } }',
    variables: { id: 'p2', other: 's1' },
    data: { product: { ...desk, price: null }, node: null },
    errors: [denied('product', 'price'), denied('node')],
  },
];

const abstract: Row[] = [
  {
    name: 'interface field with a direct field, an implementor @authenticated: anonymous gets null',
    as: ANONYMOUS,
    query: '{ node(id: "s1") { id ... on Secret { code } } }',
    data: { node: null },
    errors: [denied('node')],
  },
  {
    name: 'interface field with a direct field: authenticated gets the secret',
    as: USER,
    query: '{ node(id: "s1") { id ... on Secret { code } } }',
    data: { node: { id: 's1', code: 'xyzzy' } },
  },
  {
    // Composition copies an implementor's @authenticated onto the interface (`interface Node @authenticated`
    // in the supergraph), so even a selection of fragments only is denied, as in the Router.
    name: 'interface field with fragments only: anonymous is denied too (composition puts @authenticated on Node)',
    as: ANONYMOUS,
    query: '{ node(id: "p1") { ... on Product { name } ... on Secret { code } } }',
    data: { node: null },
    errors: [denied('node')],
  },
  {
    name: 'interface field with fragments only: authenticated gets a product',
    as: USER,
    query: '{ node(id: "p1") { ... on Product { name price } ... on Secret { code } } }',
    data: { node: { ...lamp, price: null } },
    errors: [denied('node', 'price')],
  },
  {
    name: 'interface field with fragments only: authenticated gets a secret, the product fragment filtered',
    as: USER,
    query: '{ node(id: "s1") { ... on Product { name price } ... on Secret { code } } }',
    data: { node: { code: 'xyzzy' } },
  },
  {
    name: 'union: anonymous gets products and null in secrets',
    as: ANONYMOUS,
    query: '{ search { ... on Product { name } ... on Secret { code } } }',
    data: { search: [lamp, { code: null }] },
    errors: [denied('search', 1, 'code')],
  },
  {
    name: 'union: authenticated gets both',
    as: USER,
    query: '{ search { ... on Product { name } ... on Secret { code } } }',
    data: { search: [lamp, { code: 'xyzzy' }] },
  },
  {
    name: 'union through a named fragment on the protected type',
    as: ANONYMOUS,
    query: '{ search { __typename ...S } } fragment S on Secret { id code }',
    // Secret.id is ID!: its null propagates to the item, the non-null item to the list, the list to data.
    data: null,
    errors: [denied('search', 1, 'id')],
  },
];

const entities: Row[] = [
  {
    name: 'another subgraph joins on a key the client did not select, for a caller without scopes',
    as: ANONYMOUS,
    query: '{ products { reviews { body } } }',
    data: { products: [{ reviews: [{ body: 'Bright' }, { body: 'Too small' }] }, { reviews: [{ body: 'Sturdy' }] }] },
  },
  {
    name: "another subgraph's protected field: null without reviews.author.read",
    as: PRICE_READER,
    query: '{ products { name reviews { body author } } }',
    data: {
      products: [
        { ...lamp, reviews: [{ body: 'Bright', author: null }, { body: 'Too small', author: null }] },
        { ...desk, reviews: [{ body: 'Sturdy', author: null }] },
      ],
    },
    errors: [denied('products', 0, 'reviews', 0, 'author')],
  },
  {
    name: "another subgraph's protected field: the value with reviews.author.read",
    as: REVIEW_READER,
    query: '{ products { name reviews { body author } } }',
    data: {
      products: [
        { ...lamp, reviews: [{ body: 'Bright', author: 'ann' }, { body: 'Too small', author: 'bob' }] },
        { ...desk, reviews: [{ body: 'Sturdy', author: 'cy' }] },
      ],
    },
  },
  {
    name: 'both subgraphs denied in one operation',
    as: ANONYMOUS,
    query: '{ product(id: "p2") { price reviews { author body } } }',
    data: { product: { price: null, reviews: [{ author: null, body: 'Sturdy' }] } },
    errors: [denied('product', 'price'), denied('product', 'reviews', 0, 'author')],
  },
];

const policies: Row[] = [
  {
    name: '@policy: null without mfa',
    as: ADMIN,
    query: '{ products { name supplier } }',
    data: { products: [{ ...lamp, supplier: null }, { ...desk, supplier: null }] },
    errors: [denied('products', 0, 'supplier')],
  },
  {
    name: '@policy: the value with mfa',
    as: MFA,
    query: '{ products { name supplier } }',
    data: { products: [{ ...lamp, supplier: 'Acme' }, { ...desk, supplier: 'Globex' }] },
  },
];

const meta: Row[] = [
  {
    name: 'introspection is never removed',
    as: ANONYMOUS,
    query: '{ __schema { queryType { name } mutationType { name } } }',
    data: { __schema: { queryType: { name: 'Query' }, mutationType: { name: 'Mutation' } } },
  },
  {
    name: '__type introspection of a protected type is never removed',
    as: ANONYMOUS,
    query: '{ __type(name: "Secret") { name fields { name } } }',
    data: { __type: { name: 'Secret', fields: [{ name: 'id' }, { name: 'code' }] } },
  },
  {
    name: '__typename is kept next to removed fields, at every level',
    as: ANONYMOUS,
    query: '{ __typename products { __typename price } search { __typename } }',
    data: {
      __typename: 'Query',
      products: [
        { __typename: 'Product', price: null },
        { __typename: 'Product', price: null },
      ],
      search: [{ __typename: 'Product' }, { __typename: 'Secret' }],
    },
    errors: [denied('products', 0, 'price')],
  },
  {
    name: 'a client using the internal __typename alias itself still gets every field it may see',
    as: ANONYMOUS,
    query: '{ search { __citadel_typename: __typename ... on Product { name } ... on Secret { code } } }',
    data: { search: [{ __citadel_typename: 'Product', ...lamp }, { __citadel_typename: 'Secret', code: null }] },
    errors: [denied('search', 1, 'code')],
  },
  {
    name: 'a client using the internal alias for another field still gets every field it may see',
    as: ANONYMOUS,
    query: '{ search { ... on Product { __citadel_typename: name price } ... on Secret { code } } }',
    data: { search: [{ __citadel_typename: 'Lamp', price: null }, { code: null }] },
    errors: [denied('search', 0, 'price'), denied('search', 1, 'code')],
  },
  {
    name: 'a field skipped with @include(if: false) stays out of the response even when denied',
    as: ANONYMOUS,
    query: 'query ($withPrice: Boolean!) { products { name price @include(if: $withPrice) } }',
    variables: { withPrice: false },
    data: { products: [lamp, desk] },
  },
  {
    name: 'a field skipped with @skip(if: true) stays out of the response even when denied',
    as: ANONYMOUS,
    query: '{ product(id: "p1") { name price @skip(if: true) } }',
    data: { product: lamp },
  },
];

describe.each([
  ['nullability and scopes', nullability],
  ['aliases and fragments', shapes],
  ['interfaces and unions', abstract],
  ['entities owned by another subgraph', entities],
  ['@policy', policies],
  ['introspection and __typename', meta],
])('filter mode: %s', (_group, rows) => {
  it.each(rows)('$name', async (row) => {
    const outcome = await run(row.as, row.query, { variables: row.variables, operationName: row.operationName });
    expect(outcome.data).toEqual(row.data);
    expect(outcome.errors).toEqual(row.errors);
    // The filter's own alias never leaks to a client that did not ask for it.
    if (!row.query.includes('__citadel_typename')) expect(JSON.stringify(outcome.data)).not.toContain('__citadel_typename');
  });
});

// ---------------------------------------------------------------------------------------------
// What the subgraphs receive.

describe('subgraphs never receive a removed field', () => {
  it.each([
    ['a field', '{ products { name price } }', 'price'],
    ['an alias', '{ products { p: price name } }', 'price'],
    ['a fragment', '{ products { name ...F } } fragment F on Product { price }', 'price'],
    ['a non-null field', '{ product(id: "p1") { name internalCode } }', 'internalCode'],
    ['a type-level protected fragment', '{ search { ... on Product { name } ... on Secret { code } } }', 'code'],
  ])('%s', async (_what, query, field) => {
    await run(ANONYMOUS, query);
    expect(received.products.length).toBeGreaterThan(0);
    expect(sent('products')).not.toMatch(new RegExp(`\\b${field}\\b`));
  });

  it('nor does the subgraph that owns an entity field', async () => {
    await run(ANONYMOUS, '{ products { name reviews { body author } } }');
    expect(sent('reviews')).toContain('body');
    expect(sent('reviews')).not.toMatch(/\bauthor\b/);
  });

  it('while an authorized caller does get the field fetched', async () => {
    await run(EVERYTHING, '{ products { name price reviews { author } } }');
    expect(sent('products')).toMatch(/\bprice\b/);
    expect(sent('reviews')).toMatch(/\bauthor\b/);
  });
});

// ---------------------------------------------------------------------------------------------
// Plan cache: one query string, callers with different permissions interleaved.

describe('plan cache per permission set', () => {
  const query = 'query Catalogue { products { name price internalCode supplier reviews { author } } }';
  const forA = { data: null, errors: [denied('products', 0, 'price'), denied('products', 0, 'internalCode')] };
  const forB = {
    data: {
      products: [
        { ...lamp, price: 100, internalCode: 'L-1', supplier: 'Acme', reviews: [{ author: 'ann' }, { author: 'bob' }] },
        { ...desk, price: 250, internalCode: 'D-2', supplier: 'Globex', reviews: [{ author: 'cy' }] },
      ],
    },
    errors: undefined,
  };

  it.each([
    ['A first', [USER, EVERYTHING, USER, EVERYTHING]],
    ['B first', [EVERYTHING, USER, EVERYTHING, USER]],
  ])('%s: every caller gets its own answer every time', async (_order, sequence) => {
    for (const as of sequence) {
      received.products.length = 0;
      received.reviews.length = 0;
      const outcome = await run(as, query);
      const expected = as === USER ? forA : forB;
      expect({ data: outcome.data, errors: outcome.errors }).toEqual(expected);
      // A plan made for the other caller would fetch (or skip) fields this one must not (or must) get.
      if (as === USER) {
        expect(sent('products')).not.toMatch(/\b(price|internalCode|supplier)\b/);
        expect(sent('reviews')).toBe('');
      } else {
        expect(sent('products')).toMatch(/\bprice\b[\s\S]*\binternalCode\b[\s\S]*\bsupplier\b/);
        expect(sent('reviews')).toMatch(/\bauthor\b/);
      }
    }
  });

  it('a caller between the two (only the price scope) gets neither cached answer', async () => {
    await run(USER, query);
    await run(EVERYTHING, query);
    const outcome = await run(PRICE_READER, '{ products { name price supplier } }');
    expect(outcome.data).toEqual({ products: [{ ...lamp, price: 100, supplier: null }, { ...desk, price: 250, supplier: null }] });
    expect(outcome.errors).toEqual([denied('products', 0, 'supplier')]);
  });
});

// ---------------------------------------------------------------------------------------------
// Reject mode.

describe('reject mode', () => {
  it('refuses an unauthorized operation as a whole, without data and without reaching a subgraph', async () => {
    const outcome = await run(ANONYMOUS, '{ products { name price reviews { author } } }', { mode: 'reject' });
    expect(outcome.data).toBeUndefined();
    expect(outcome.raw.errors?.map((e) => ({ code: e.extensions?.code, unauthorizedPath: e.extensions?.unauthorizedPath }))).toEqual([
      { code: UNAUTHORIZED, unauthorizedPath: '/products/@/price' },
      { code: UNAUTHORIZED, unauthorizedPath: '/products/@/reviews/@/author' },
    ]);
    expect(received.products).toEqual([]);
    expect(received.reviews).toEqual([]);
  });

  it('refuses a protected mutation without running it', async () => {
    const outcome = await run(ANONYMOUS, 'mutation { ping setPrice(id: "p1", price: 1) { id } }', { mode: 'reject' });
    expect(outcome.data).toBeUndefined();
    expect(outcome.errors?.map((e) => e.code)).toEqual([UNAUTHORIZED]);
    expect(calls.setPrice).toBe(0);
  });

  it('runs an authorized operation normally', async () => {
    const outcome = await run(PRICE_READER, '{ products { name price reviews { body } } }', { mode: 'reject' });
    expect(outcome.data).toEqual({
      products: [
        { ...lamp, price: 100, reviews: [{ body: 'Bright' }, { body: 'Too small' }] },
        { ...desk, price: 250, reviews: [{ body: 'Sturdy' }] },
      ],
    });
    expect(outcome.errors).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Mutations.

describe('a protected mutation field', () => {
  it('anonymous: null with an error, and the resolver never runs', async () => {
    const outcome = await run(ANONYMOUS, 'mutation { setPrice(id: "p1", price: 1) { id price } }');
    expect(outcome.data).toEqual({ setPrice: null });
    expect(outcome.errors).toEqual([denied('setPrice')]);
    expect(calls.setPrice).toBe(0);
    expect(received.products).toEqual([]);
  });

  it('anonymous: the unprotected sibling still runs', async () => {
    const outcome = await run(ANONYMOUS, 'mutation Both($id: ID!) { ping setPrice(id: $id, price: 1) { id } }', { variables: { id: 'p1' } });
    expect(outcome.data).toEqual({ ping: 'pong', setPrice: null });
    expect(outcome.errors).toEqual([denied('setPrice')]);
    expect(calls.setPrice).toBe(0);
    expect(sent('products')).toContain('ping');
    expect(sent('products')).not.toContain('setPrice');
  });

  it('with the scope: runs once and returns the product; its own protected fields are still checked', async () => {
    const outcome = await run(ADMIN, 'mutation { setPrice(id: "p2", price: 7) { id price supplier } }');
    expect(outcome.data).toEqual({ setPrice: { id: 'p2', price: 7, supplier: null } });
    expect(outcome.errors).toEqual([denied('setPrice', 'supplier')]);
    expect(calls.setPrice).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Regressions from review.

describe('an operation name that selects nothing', () => {
  // Threat: operationName "" made the filter find no operation and pass the document through
  // unfiltered, while @apollo/gateway ran the only operation; the "unchanged" decision was then
  // cached for every caller with the same permissions.
  it('never runs a protected mutation, and never poisons the decision for the next caller', async () => {
    const outcome = await run(ANONYMOUS, 'mutation { setPrice(id: "p1", price: 1) { id } }', { operationName: '' });
    expect(calls.setPrice).toBe(0);
    expect(JSON.stringify(outcome.raw)).not.toContain('"price"');
    const query = '{ product(id: "p1") { name price } }';
    await run(ANONYMOUS, query, { operationName: '' });
    const next = await run(ANONYMOUS, query);
    expect(next.data).toEqual({ product: { name: 'Lamp', price: null } });
    expect(next.errors).toEqual([denied('product', 'price')]);
  });

  it('refuses a name that matches no operation of a multi-operation document', async () => {
    const outcome = await run(ANONYMOUS, 'mutation A { setPrice(id: "p1", price: 1) { id } } query B { ping2: __typename }', { operationName: 'C' });
    expect(calls.setPrice).toBe(0);
    expect(outcome.data ?? null).toBeNull();
  });
});
