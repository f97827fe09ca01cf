// Subgraph fetch metrics tell the three ways a fetch fails apart: no answer, an HTTP error, GraphQL errors.
import { createServer, type Server } from 'node:http';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { InternalTokenMinter } from '@citadel/kit/auth';
import { freePort } from '@citadel/kit/testing/ports';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayContext } from './context';
import { createSubgraphFetcher } from './subgraph-fetcher';
import { SubgraphFetchMetrics, SubgraphSource } from './subgraph-source';

let server: Server;
let base: string;

beforeAll(async () => {
  // A real HTTP server answering as a subgraph can: /ok with data, /errors with GraphQL errors, /down with a 502.
  server = createServer((req, res) => {
    const body =
      req.url === '/down' ? undefined : req.url === '/errors' ? { data: null, errors: [{ message: 'nope' }] } : { data: { hello: 'world' } };
    res.writeHead(body ? 200 : 502, { 'content-type': 'application/json' });
    res.end(body ? JSON.stringify(body) : 'bad gateway');
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** An incoming-operation fetch as the gateway's executor makes it (no caller: no token is minted). */
const operation = () =>
  ({
    kind: 'incoming operation',
    request: { query: '{ hello }' },
    context: {},
    incomingRequestContext: { request: {}, context: {} },
    pathInIncomingRequest: [],
  }) as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;

const fetcher = createSubgraphFetcher();
afterAll(() => fetcher.close());

describe.each([
  ['the gateway fetcher', fetcher.fetch],
  ["Apollo's default fetcher", undefined],
])('SubgraphSource metrics with %s', (_name, fetch) => {
  it('times every fetch by subgraph and counts network, http and graphql failures apart', async () => {
    const registry = new Registry();
    const metrics = new SubgraphFetchMetrics();
    metrics.useMetrics(registry);
    const noMinter = {} as InternalTokenMinter;
    const closedPort = await freePort();
    const source = (name: string, url: string) => new SubgraphSource(name, url, noMinter, { metrics, ...(fetch ? { fetcher: fetch } : {}) });

    expect((await source('alpha', `${base}/ok`).process(operation())).data).toEqual({ hello: 'world' });
    expect((await source('alpha', `${base}/errors`).process(operation())).errors).toHaveLength(1);
    await expect(source('beta', `${base}/down`).process(operation())).rejects.toThrow("HTTP fetch failed from 'beta'");
    await expect(source('gamma', `http://127.0.0.1:${closedPort}/`).process(operation())).rejects.toThrow();

    const text = await registry.metrics();
    expect(text).toMatch(/citadel_gateway_subgraph_fetch_duration_seconds_count\{subgraph="alpha"\} 2/);
    expect(text).toMatch(/citadel_gateway_subgraph_fetch_duration_seconds_count\{subgraph="beta"\} 1/);
    expect(text).toContain('citadel_gateway_subgraph_fetch_errors_total{subgraph="alpha",kind="graphql"} 1');
    expect(text).toContain('citadel_gateway_subgraph_fetch_errors_total{subgraph="beta",kind="http"} 1');
    expect(text).toContain('citadel_gateway_subgraph_fetch_errors_total{subgraph="gamma",kind="network"} 1');
  });
});
