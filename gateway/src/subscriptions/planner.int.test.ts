// Guards the @apollo/gateway internals subscriptions rely on: a version that moves them fails here.
// The gateway plans a subscription whose event needs a field from a second subgraph, served on
// real HTTP, and runs the rest of the plan for one event.
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { createLogger } from '@citadel/kit/logger';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plannerSnapshot } from './planner';

const logger = createLogger('test', 'silent');
const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])';

const PRODUCTS_SDL = `${LINK}
  type Product @key(fields: "id") { id: ID! name: String! }
  type PriceChange { product: Product! price: Int! }
  type Query { product(id: ID!): Product }
  type Subscription { priceChanged(productId: ID!): PriceChange! }
`;
const REVIEWS_SDL = `${LINK}
  type Product @key(fields: "id") { id: ID! reviewCount: Int! }
`;

let gateway: ApolloGateway;
let reviews: ApolloServer;
const reviewRequests: string[] = [];

beforeAll(async () => {
  reviews = new ApolloServer({
    schema: buildSubgraphSchema([
      {
        typeDefs: parse(REVIEWS_SDL),
        resolvers: { Product: { __resolveReference: ({ id }: { id: string }) => ({ id, reviewCount: id.length }) } },
      },
    ]),
    plugins: [{ requestDidStart: async ({ request }) => void reviewRequests.push(request.query ?? '') }],
    logger,
  });
  const { url: reviewsUrl } = await startStandaloneServer(reviews, { listen: { port: 0, host: '127.0.0.1' } });
  const composed = composeServices([
    { name: 'products', url: 'http://127.0.0.1:9/graphql', typeDefs: parse(PRODUCTS_SDL) },
    { name: 'reviews', url: reviewsUrl, typeDefs: parse(REVIEWS_SDL) },
  ]);
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  gateway = new ApolloGateway({ supergraphSdl: composed.supergraphSdl, buildService: ({ url }) => new RemoteGraphQLDataSource({ url }), logger });
  await gateway.load();
});

afterAll(async () => {
  await gateway?.stop();
  await reviews?.stop();
});

const QUERY = 'subscription Watch($id: ID!) { priceChanged(productId: $id) { price product { name reviewCount } } }';

describe('subscription planning with the gateway internals', () => {
  it('plans the primary fetch on the owning subgraph and the rest on the other', () => {
    const plan = plannerSnapshot(gateway).plan(parse(QUERY), 'Watch');
    expect(plan.primary.serviceName).toBe('products');
    expect(plan.primary.operation).toMatch(/^subscription/);
    expect(plan.primary.variableUsages).toEqual(['id']);
    expect(JSON.stringify(plan.rest)).toContain('"serviceName":"reviews"');
    expect(plannerSnapshot(gateway).subgraphUrl('products')).toBe('http://127.0.0.1:9/graphql');
  });

  it('runs the rest of the plan for an event, fetching the other subgraph over HTTP', async () => {
    const document = parse(QUERY);
    const snapshot = plannerSnapshot(gateway);
    const plan = snapshot.plan(document, 'Watch');
    const event = { data: { priceChanged: { price: 12, product: { __typename: 'Product', id: 'lamp', name: 'Lamp' } } } };
    const requestContext = {
      request: { query: QUERY, variables: { id: 'lamp' }, operationName: 'Watch' },
      context: {},
      logger,
      metrics: {},
      document,
    } as unknown as GatewayGraphQLRequestContext;
    reviewRequests.length = 0;
    const result = await snapshot.execute(plan, event, document, 'Watch', requestContext);
    expect(result).toEqual({ data: { priceChanged: { price: 12, product: { name: 'Lamp', reviewCount: 4 } } } });
    expect(reviewRequests).toHaveLength(1);
    expect(reviewRequests[0]).toContain('_entities');
  });

  it('passes the subgraph errors of an event on, at their path', async () => {
    const document = parse(QUERY);
    const snapshot = plannerSnapshot(gateway);
    const plan = snapshot.plan(document, 'Watch');
    const event = { data: null, errors: [{ message: 'You are no longer a member', extensions: { code: 'FORBIDDEN' } }] };
    const requestContext = { request: { query: QUERY, variables: { id: 'x' } }, context: {}, logger, metrics: {}, document } as unknown as GatewayGraphQLRequestContext;
    const result = await snapshot.execute(plan, event as never, document, 'Watch', requestContext);
    expect(result.errors?.[0]?.message).toBe('You are no longer a member');
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
