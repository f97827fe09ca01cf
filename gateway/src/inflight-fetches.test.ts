// Identical subgraph queries in flight share one fetch; anything that tells two callers apart keeps
// them apart, and mutations are never shared.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Caller, InternalTokenMinter } from '@citadel/kit/auth';
import { freePort } from '@citadel/kit/testing/ports';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayContext } from './context';
import { InflightFetches } from './inflight-fetches';
import { createSubgraphFetcher } from './subgraph-fetcher';
import { SubgraphFetchMetrics, SubgraphSource } from './subgraph-source';

let server: Server;
let url: string;
/** What the subgraph stand-in received, in order. */
let received: { headers: IncomingMessage['headers']; body: string }[] = [];
/** Answers wait until the test lets them go, so fetches overlap for certain. */
let release: () => void = () => undefined;
let gate: Promise<void> = Promise.resolve();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const n = received.length;
      void gate.then(() => {
        if (req.url === '/down') {
          res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { answer: n, items: [{ id: 1 }] } }));
      });
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${port}/graphql`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const fetcher = createSubgraphFetcher();
afterAll(() => fetcher.close());

beforeEach(() => {
  received = [];
  gate = new Promise((resolve) => (release = resolve));
});

/** Resolves once the stand-in has received `n` requests. */
async function receivedCount(n: number): Promise<void> {
  while (received.length < n) await new Promise((r) => setTimeout(r, 2));
}

describe('InflightFetches', () => {
  const headers = (extra: Record<string, string> = {}) => ({ 'content-type': 'application/json', authorization: 'Bearer a', 'x-request-id': 'r1', ...extra });

  it('answers identical fetches in flight with one request, each caller reading its own copy', async () => {
    const shared: string[] = [];
    const inflight = new InflightFetches(fetcher.fetch, { onShared: (u) => shared.push(u) });
    const body = '{"query":"{ answer }"}';
    const first = inflight.post(url, headers(), body);
    await receivedCount(1);
    // Only the request id and trace context differ: the same question.
    const second = inflight.post(url, headers({ 'x-request-id': 'r2', traceparent: '00-abc-def-01' }), body);
    expect(inflight.size).toBe(1);
    release();
    const [a, b] = await Promise.all([first, second]);
    const [da, db] = (await Promise.all([a.json(), b.json()])) as { data: { answer: number; items: { id: number }[] } }[];
    expect(received).toHaveLength(1);
    expect(da).toEqual(db);
    // @apollo/gateway writes into what it parsed; one caller's writes must not reach the other.
    da!.data.items[0]!.id = 99;
    expect(db!.data.items[0]!.id).toBe(1);
    expect(shared).toEqual([url]);
    expect(inflight.size).toBe(0);
  });

  it('keeps apart fetches that differ in body, token, client or operation name', async () => {
    const inflight = new InflightFetches(fetcher.fetch);
    const body = '{"query":"{ answer }"}';
    const all = [
      inflight.post(url, headers(), body),
      inflight.post(url, headers(), '{"query":"{ answer items { id } }"}'),
      inflight.post(url, headers({ authorization: 'Bearer b' }), body),
      inflight.post(url, headers({ 'x-citadel-client-ip': '10.0.0.2' }), body),
      inflight.post(url, headers({ 'x-citadel-operation-name': 'Other' }), body),
    ];
    await receivedCount(5);
    release();
    const answers = (await Promise.all((await Promise.all(all)).map((r) => r.json()))) as { data: { answer: number } }[];
    expect(new Set(answers.map((a) => a.data.answer)).size).toBe(5);
  });

  it('does not keep answers: a fetch after the first has finished asks again', async () => {
    const inflight = new InflightFetches(fetcher.fetch);
    release();
    const a = (await (await inflight.post(url, headers(), '{}')).json()) as { data: { answer: number } };
    const b = (await (await inflight.post(url, headers(), '{}')).json()) as { data: { answer: number } };
    expect(received).toHaveLength(2);
    expect(b.data.answer).toBe(a.data.answer + 1);
  });

  it('gives every joined caller the failure, then forgets it', async () => {
    const inflight = new InflightFetches(fetcher.fetch);
    const down = url.replace('/graphql', '/down');
    const first = inflight.post(down, headers(), '{}');
    await receivedCount(1);
    const second = inflight.post(down, headers(), '{}');
    release();
    const statuses = (await Promise.all([first, second])).map((r) => r.status);
    expect(statuses).toEqual([502, 502]);
    expect(received).toHaveLength(1);
    expect(inflight.size).toBe(0);
  });
});

describe('SubgraphSource with deduplication', () => {
  const caller: Caller = { userId: 'u1', sessionId: 's1', permissions: [], policies: [] };
  const minter = { mint: async (c: Caller) => `token-for-${c.userId}` } as unknown as InternalTokenMinter;
  const fetchFor = (operation: 'query' | 'mutation', requestId: string) =>
    ({
      kind: 'incoming operation',
      request: { query: operation === 'query' ? '{ answer }' : 'mutation { answer }' },
      context: { caller, requestId, client: { ip: '127.0.0.1', userAgent: 'test' } },
      incomingRequestContext: { request: {}, context: {}, operation: { operation } },
      pathInIncomingRequest: [],
    }) as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;

  it('shares identical queries of different requests and counts them on /metrics', async () => {
    const registry = new Registry();
    const metrics = new SubgraphFetchMetrics();
    metrics.useMetrics(registry);
    const source = new SubgraphSource('alpha', url, minter, { metrics, fetcher: fetcher.fetch, deduplicate: true });
    const first = source.process(fetchFor('query', 'r1'));
    await receivedCount(1);
    const second = source.process(fetchFor('query', 'r2'));
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.data).toEqual(b.data);
    expect(received).toHaveLength(1);
    expect(received[0]!.headers.authorization).toBe('Bearer token-for-u1');
    expect(await registry.metrics()).toMatch(/citadel_gateway_subgraph_fetches_deduplicated_total\{subgraph="alpha"\} 1/);
  });

  it('never shares a fetch made for a mutation', async () => {
    const source = new SubgraphSource('alpha', url, minter, { fetcher: fetcher.fetch, deduplicate: true });
    const first = source.process(fetchFor('mutation', 'r1'));
    await receivedCount(1);
    const second = source.process(fetchFor('mutation', 'r2'));
    await receivedCount(2);
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.data).not.toEqual(b.data);
  });

  it('shares nothing when deduplication is off', async () => {
    const source = new SubgraphSource('alpha', url, minter, { fetcher: fetcher.fetch });
    const first = source.process(fetchFor('query', 'r1'));
    await receivedCount(1);
    const second = source.process(fetchFor('query', 'r2'));
    await receivedCount(2);
    release();
    await Promise.all([first, second]);
    expect(received).toHaveLength(2);
  });
});
