// Subgraph fetch metrics tell the ways a fetch fails apart (no answer, no answer in time, an HTTP error,
// GraphQL errors); a fetch is bounded by its timeout and a query that could not connect is retried once.
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { InternalTokenMinter } from '@citadel/kit/auth';
import { freePort } from '@citadel/kit/testing/ports';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayContext } from './context';
import { createSubgraphFetcher } from './subgraph-fetcher';
import { SubgraphFetchMetrics, SubgraphSource, SubgraphUnavailableError } from './subgraph-source';

let server: Server;
let base: string;

beforeAll(async () => {
  // A real HTTP server answering as a subgraph can: /ok with data, /errors with GraphQL errors, /down with a 502.
  server = createServer((req, res) => {
    // As Apollo Server answers a variable it cannot coerce, and a document it cannot validate.
    const refusals: Record<string, unknown> = {
      '/refused': { errors: [{ message: 'Variable "$due" got invalid value "soon"; Value is not a valid DateTime: soon', extensions: { code: 'BAD_USER_INPUT', stacktrace: ['at parse'] } }] },
      '/invalid': { errors: [{ message: 'Cannot query field "_secret" on type "Query".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] },
    };
    if (req.url! in refusals) {
      res.writeHead(400, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(refusals[req.url!]));
    }
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

/**
 * Subgraphs that fail as real ones do, each a real server on a local port: one that never answers,
 * one that answers half and stops, one that resets each connection as the request arrives (for
 * the first `resets` connections only, then answers), and a port nothing listens on.
 */
describe('a subgraph refusing the client input (HTTP 400)', () => {
  it("passes the subgraph's BAD_USER_INPUT through to the client, without private extensions", async () => {
    const result = await new SubgraphSource('workspaces', `${base}/refused`, {} as InternalTokenMinter, { fetcher: fetcher.fetch }).process(operation());
    expect(result.errors).toEqual([{ message: 'Variable "$due" got invalid value "soon"; Value is not a valid DateTime: soon', extensions: { code: 'BAD_USER_INPUT' } }]);
  });

  it('keeps any other 400 the platform\'s fault: SUBREQUEST_HTTP_ERROR naming the subgraph', async () => {
    await expect(new SubgraphSource('workspaces', `${base}/invalid`, {} as InternalTokenMinter, { fetcher: fetcher.fetch }).process(operation())).rejects.toMatchObject({
      extensions: { code: 'SUBREQUEST_HTTP_ERROR', serviceName: 'workspaces' },
    });
  });
});

describe('SubgraphSource timeouts and retries', () => {
  let hanging: Server;
  let resetting: NetServer;
  let hangUrl: string;
  let halfUrl: string;
  let resetUrl: string;
  /** Connections the hanging server accepted, and how many of them it has seen closed. */
  const held = { opened: 0, closed: 0 };
  const resets = { left: 0, connections: 0 };

  beforeAll(async () => {
    hanging = createServer((req, res) => {
      held.opened++;
      req.socket.once('close', () => held.closed++);
      req.resume();
      if (req.url === '/half') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"data":');
      }
    });
    resetting = createNetServer((socket) => {
      resets.connections++;
      socket.once('data', () => {
        if (resets.left > 0) {
          resets.left--;
          socket.resetAndDestroy();
          return;
        }
        const body = JSON.stringify({ data: { hello: 'again' } });
        socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
      });
    });
    const [hangPort, resetPort] = [await freePort(), await freePort()];
    await new Promise<void>((resolve) => hanging.listen(hangPort, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => resetting.listen(resetPort, '127.0.0.1', resolve));
    hangUrl = `http://127.0.0.1:${hangPort}/hang`;
    halfUrl = `http://127.0.0.1:${hangPort}/half`;
    resetUrl = `http://127.0.0.1:${resetPort}/graphql`;
  });
  afterAll(async () => {
    hanging.closeAllConnections();
    await new Promise<void>((resolve) => hanging.close(() => resolve()));
    await new Promise<void>((resolve) => resetting.close(() => resolve()));
  });

  const query = () => {
    const options = operation() as unknown as { incomingRequestContext: Record<string, unknown> };
    options.incomingRequestContext.operation = { operation: 'query' };
    return options as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;
  };
  const mutation = () => {
    const options = operation() as unknown as { incomingRequestContext: Record<string, unknown> };
    options.incomingRequestContext.operation = { operation: 'mutation' };
    return options as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;
  };
  const failure = async (answer: Promise<unknown>) => {
    const error = await answer.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SubgraphUnavailableError);
    return error as SubgraphUnavailableError;
  };
  const metricsIn = () => {
    const registry = new Registry();
    const metrics = new SubgraphFetchMetrics();
    metrics.useMetrics(registry);
    return { registry, metrics };
  };
  const until = async (holds: () => boolean) => {
    for (const deadline = Date.now() + 10_000; !holds(); ) {
      if (Date.now() > deadline) throw new Error('condition did not hold within 10 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  describe.each([
    ['the gateway fetcher', fetcher.fetch],
    ["Apollo's default fetcher", undefined],
  ])('with %s', (_name, fetch) => {
    it('answers a subgraph that never answers as SUBGRAPH_UNAVAILABLE (TIMEOUT) once its timeout passes, and closes that connection', async () => {
      const { registry, metrics } = metricsIn();
      const source = new SubgraphSource('slow', hangUrl, {} as InternalTokenMinter, { metrics, timeoutMs: 300, ...(fetch ? { fetcher: fetch } : {}) });
      const before = { ...held };
      const started = Date.now();
      const error = await failure(source.process(query()));
      const took = Date.now() - started;
      expect(error.message).toBe("Subgraph 'slow' is unavailable: no answer within 300 ms");
      expect(error.extensions).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'slow', reason: 'TIMEOUT' });
      expect(took).toBeGreaterThanOrEqual(290);
      expect(took).toBeLessThan(5_000);
      // Never resent after a timeout, even a query; and the timed-out connection is closed, not kept for reuse.
      expect(held.opened - before.opened).toBe(1);
      await until(() => held.closed - before.closed === 1);
      expect(await registry.metrics()).toContain('citadel_gateway_subgraph_fetch_errors_total{subgraph="slow",kind="timeout"} 1');
    });

    it('times out a subgraph that starts an answer and never finishes it', async () => {
      const source = new SubgraphSource('half', halfUrl, {} as InternalTokenMinter, { timeoutMs: 300, ...(fetch ? { fetcher: fetch } : {}) });
      const before = { ...held };
      expect((await failure(source.process(query()))).reason).toBe('TIMEOUT');
      await until(() => held.closed - before.closed === 1);
    });

    it('retries a query refused by a subgraph that is not listening once, then answers SUBGRAPH_UNAVAILABLE (UNREACHABLE); a mutation never', async () => {
      const { registry, metrics } = metricsIn();
      const url = `http://127.0.0.1:${await freePort()}/graphql`;
      const source = new SubgraphSource('gone', url, {} as InternalTokenMinter, { metrics, retryDelayMs: 10, ...(fetch ? { fetcher: fetch } : {}) });
      const error = await failure(source.process(query()));
      expect(error.extensions).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'gone', reason: 'UNREACHABLE' });
      expect(await registry.metrics()).toContain('citadel_gateway_subgraph_fetch_retries_total{subgraph="gone"} 1');
      expect((await failure(source.process(mutation()))).reason).toBe('UNREACHABLE');
      expect(await registry.metrics()).toContain('citadel_gateway_subgraph_fetch_retries_total{subgraph="gone"} 1');
      expect(await registry.metrics()).toContain('citadel_gateway_subgraph_fetch_errors_total{subgraph="gone",kind="network"} 2');
    });
  });

  it('retries a query whose connection was reset before any answer once, and gets the answer', async () => {
    const { registry, metrics } = metricsIn();
    const source = new SubgraphSource('flaky', resetUrl, {} as InternalTokenMinter, { metrics, fetcher: fetcher.fetch, retryDelayMs: 10 });
    Object.assign(resets, { left: 1, connections: 0 });
    expect((await source.process(query())).data).toEqual({ hello: 'again' });
    expect(resets.connections).toBe(2);
    expect(await registry.metrics()).toContain('citadel_gateway_subgraph_fetch_retries_total{subgraph="flaky"} 1');
  });

  it('retries only once: a query reset twice answers SUBGRAPH_UNAVAILABLE (CONNECTION_LOST)', async () => {
    const source = new SubgraphSource('flaky', resetUrl, {} as InternalTokenMinter, { fetcher: fetcher.fetch, retryDelayMs: 10 });
    Object.assign(resets, { left: 5, connections: 0 });
    const error = await failure(source.process(query()));
    expect(error.extensions).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'flaky', reason: 'CONNECTION_LOST' });
    expect(resets.connections).toBe(2);
  });

  it('never resends a mutation whose connection was reset: the subgraph may have applied it', async () => {
    const source = new SubgraphSource('flaky', resetUrl, {} as InternalTokenMinter, { fetcher: fetcher.fetch, retryDelayMs: 10 });
    Object.assign(resets, { left: 1, connections: 0 });
    expect((await failure(source.process(mutation()))).reason).toBe('CONNECTION_LOST');
    expect(resets.connections).toBe(1);
  });

  it('retries a deduplicated query once for all the callers sharing it', async () => {
    const source = new SubgraphSource('flaky', resetUrl, {} as InternalTokenMinter, { fetcher: fetcher.fetch, retryDelayMs: 10, deduplicate: true });
    Object.assign(resets, { left: 1, connections: 0 });
    const answers = await Promise.all([source.process(query()), source.process(query()), source.process(query())]);
    expect(answers.map((a) => a.data)).toEqual([{ hello: 'again' }, { hello: 'again' }, { hello: 'again' }]);
    expect(resets.connections).toBe(2);
  });

  it('refuses timeout and retry delay options it cannot honour when built', () => {
    expect(() => new SubgraphSource('x', hangUrl, {} as InternalTokenMinter, { timeoutMs: 0 })).toThrow('timeoutMs must be a positive integer');
    expect(() => new SubgraphSource('x', hangUrl, {} as InternalTokenMinter, { retryDelayMs: -1 })).toThrow('retryDelayMs must be a non-negative integer');
  });
});
