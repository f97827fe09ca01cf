// Observability through the real platform: one browser request is one trace across the gateway and
// the subgraphs (exported by OTLP/HTTP to a receiver this test runs), its log lines carry the trace
// id, and every service's /metrics exposes the series operators alert on.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@citadel/kit/testing/ports';
import { launch, type Platform } from './launcher';
import { account, call, CREATE_TODO, eventually, ok, workspaceWith, type Account } from './workspaces-helpers';

/** A span as the OTLP/HTTP JSON exporter sends it, with the service that sent it. */
interface ReceivedSpan {
  service: string;
  scope: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { scope?: { name?: string }; spans?: (Omit<ReceivedSpan, 'service' | 'scope' | 'attributes'> & { attributes?: OtlpAttribute[] })[] }[];
  }[];
}

const attributes = (list: OtlpAttribute[] = []): Record<string, unknown> =>
  Object.fromEntries(list.map(({ key, value }) => [key, Object.values(value)[0]]));

/** A minimal OTLP/HTTP trace receiver (JSON, as @opentelemetry/exporter-trace-otlp-http posts it). */
async function startReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; server: Server }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json')) {
        for (const resourceSpans of (JSON.parse(body) as OtlpExport).resourceSpans ?? []) {
          const service = String(attributes(resourceSpans.resource?.attributes)['service.name']);
          for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
            for (const span of scopeSpans.spans ?? []) {
              spans.push({ ...span, service, scope: scopeSpans.scope?.name ?? '', attributes: attributes(span.attributes) });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, spans, server };
}

const OBSERVED = `query ObservedTodos {
  me { name workspaces { name todos(first: 5) { edges { node { title assignee { name } } } } } }
}`;
// W3C trace context as a browser's instrumentation sends it: this trace, this (browser) span, sampled.
const TRACE_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const BROWSER_SPAN_ID = '1122334455667788';

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let platform: Platform;
let gql: string;
let ada: Account;
let trace: ReceivedSpan[];

beforeAll(async () => {
  receiver = await startReceiver();
  platform = await launch({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' } });
  gql = `${platform.gatewayUrl}/graphql`;
  ada = await account(gql, 'ada@example.com');
  const workspaceId = await workspaceWith(gql, ada, 'Observed');
  await ok(gql, ada.token, CREATE_TODO, { i: { workspaceId, title: 'Trace me', assigneeId: ada.id } });

  const response = await fetch(gql, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ada.token}`, traceparent: `00-${TRACE_ID}-${BROWSER_SPAN_ID}-01` },
    body: JSON.stringify({ query: OBSERVED, operationName: 'ObservedTodos' }),
  });
  expect(await response.json()).toEqual({
    data: { me: { name: 'ada', workspaces: [{ name: 'Observed', todos: { edges: [{ node: { title: 'Trace me', assignee: { name: 'ada' } } }] } }] } },
  });
  // Spans arrive in batches from four processes: wait until each service's server span is in.
  trace = await eventually(
    async () => receiver.spans.filter((s) => s.traceId === TRACE_ID),
    (spans) => ['gateway', 'identity', 'workspaces'].every((service) => spans.some((s) => s.service === service && s.name === 'POST /graphql')) && spans.some((s) => s.name === 'gateway.request'),
    30_000,
  );
});

afterAll(async () => {
  await platform?.stop();
  receiver?.server.close();
});

describe('one request, one trace', () => {
  it('spans the gateway (request, plan, each fetch) and the subgraphs it called, down to their SQL', () => {
    const names = (service: string) => trace.filter((s) => s.service === service).map((s) => s.name);
    expect(names('gateway')).toEqual(expect.arrayContaining(['POST /graphql', 'gateway.request', 'gateway.plan', 'gateway.execute', 'gateway.fetch']));
    // me (identity), then workspaces and todos (workspaces), then the assignee's name (identity again).
    expect(trace.filter((s) => s.name === 'gateway.fetch').map((s) => s.attributes.service).sort()).toEqual(['identity', 'identity', 'workspaces']);
    expect(names('identity')).toContain('POST /graphql');
    expect(names('workspaces')).toContain('POST /graphql');
    expect(trace.some((s) => s.service === 'workspaces' && s.scope === '@opentelemetry/instrumentation-pg' && /todo/i.test(String(s.attributes['db.query.text'])))).toBe(true);
    expect(trace.find((s) => s.name === 'gateway.request')?.attributes['graphql.operation.name']).toBe('ObservedTodos');
  });

  it('has consistent parent links: the browser span above the gateway, each subgraph under a gateway fetch, SQL under its subgraph', () => {
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const ancestors = (span: ReceivedSpan): ReceivedSpan[] => {
      const chain: ReceivedSpan[] = [];
      for (let parent = byId.get(span.parentSpanId ?? ''); parent; parent = byId.get(parent.parentSpanId ?? '')) chain.push(parent);
      return chain;
    };
    // Exactly one root here, the gateway's server span, and its parent is the browser's span.
    const roots = trace.filter((s) => !byId.has(s.parentSpanId ?? ''));
    expect(roots.map((s) => [s.service, s.name, s.parentSpanId])).toEqual([['gateway', 'POST /graphql', BROWSER_SPAN_ID]]);
    for (const service of ['identity', 'workspaces']) {
      for (const server of trace.filter((s) => s.service === service && s.name === 'POST /graphql')) {
        const chain = ancestors(server);
        expect(chain[0]?.service).toBe('gateway'); // the gateway's HTTP client span
        expect(chain.find((s) => s.name === 'gateway.fetch')?.attributes.service).toBe(service);
        expect(chain.at(-1)?.name).toBe('POST /graphql');
      }
    }
    for (const query of trace.filter((s) => s.scope === '@opentelemetry/instrumentation-pg')) {
      expect(ancestors(query).find((s) => s.service === query.service && s.name === 'POST /graphql')).toBeDefined();
    }
  });

  it('puts the trace id on the log lines the request wrote, in every service it reached', () => {
    const lines = platform
      .output()
      .split('\n')
      .filter((line) => line.includes(TRACE_ID))
      .map((line) => JSON.parse(line) as { service: string; trace_id: string; span_id: string });
    expect(new Set(lines.map((l) => l.service))).toEqual(new Set(['gateway', 'identity', 'workspaces']));
    for (const line of lines) expect(trace.some((s) => s.spanId === line.span_id && s.service === line.service)).toBe(true);
  });
});

describe('/metrics', () => {
  const scrape = async (base: string) => (await fetch(`${base}/metrics`)).text();
  /** The value of the first sample of `name` whose labels include all of `labels`. */
  const sample = (text: string, name: string, labels: Record<string, string> = {}): number | undefined => {
    for (const line of text.split('\n')) {
      const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (match?.[1] !== name) continue;
      const has = Object.entries(labels).every(([k, v]) => match[2]?.includes(`${k}="${v}"`));
      if (has) return Number(match[3]);
    }
    return undefined;
  };

  it('gateway: requests and latency per operation, subgraph fetches, denials, active subscriptions', async () => {
    // A signed-in user asking for an administrators-only field is a denial.
    const denied = await call(gql, ada.token, 'query DisabledAt { me { disabledAt } }');
    expect(denied.errors?.[0]?.extensions?.code).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    const text = await scrape(platform.gatewayUrl);
    expect(sample(text, 'citadel_graphql_operations_total', { operation: 'ObservedTodos', type: 'query', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'citadel_graphql_operation_duration_seconds_count', { operation: 'ObservedTodos', type: 'query' })).toBe(1);
    expect(sample(text, 'citadel_graphql_operations_total', { operation: 'DisabledAt', outcome: 'error' })).toBe(1);
    expect(sample(text, 'citadel_gateway_subgraph_fetch_duration_seconds_count', { subgraph: 'workspaces' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'citadel_gateway_subgraph_fetch_duration_seconds_count', { subgraph: 'identity' })).toBeGreaterThanOrEqual(2);
    expect(text).toContain('# TYPE citadel_gateway_subgraph_fetch_errors_total counter');
    expect(sample(text, 'citadel_authorization_denied_total', { coordinate: 'User.disabledAt' })).toBe(1);
    expect(sample(text, 'citadel_gateway_subscriptions_active')).toBe(0);
    expect(sample(text, 'http_request_duration_seconds_count', { route: '/graphql', service: 'gateway' })).toBeGreaterThanOrEqual(1);
  });

  it('subgraph: outbox lag and dead events, database pool, active subscriptions', async () => {
    // createWorkspace and createTodo wrote audit events to workspaces' outbox; delivery is measured.
    const text = await eventually(
      () => scrape(platform.workspacesUrl),
      (t) => (sample(t, 'citadel_outbox_delivery_lag_seconds_count', { service: 'workspaces' }) ?? 0) >= 1,
    );
    expect(sample(text, 'citadel_outbox_delivery_lag_seconds_count', { service: 'workspaces' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'citadel_outbox_dead_events', { service: 'workspaces' })).toBe(0);
    expect(sample(text, 'citadel_db_pool_max', { service: 'workspaces' })).toBe(10);
    for (const state of ['used', 'free', 'pending']) expect(sample(text, 'citadel_db_pool_connections', { state })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'citadel_db_pool_connections', { state: 'free' })! + sample(text, 'citadel_db_pool_connections', { state: 'used' })!).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'citadel_subscriptions_active')).toBe(0);
    expect(sample(text, 'http_requests_total', { route: '/graphql', service: 'workspaces' })).toBeGreaterThanOrEqual(1);
  });
});
