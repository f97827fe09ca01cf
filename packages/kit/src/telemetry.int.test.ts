// One request, one trace: the kit server's span, the pg query it runs beneath it, and its log lines carry the trace id.
import { Writable } from 'node:stream';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTelemetry, type Telemetry } from './telemetry';

const exporter = new InMemorySpanExporter();
const lines: string[] = [];
let telemetry: Telemetry;
let url: string;
let stop: () => Promise<void>;

beforeAll(async () => {
  // Before the server and the ORM are loaded, as each service's src/telemetry.ts does.
  telemetry = startTelemetry({ service: 'kit-test', spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const { createLogger } = await import('./logger');
  const { createOrm } = await import('./db');
  const { createServiceServer } = await import('./server');
  const { sendJson } = await import('./http');
  const logger = createLogger('kit-test', 'info', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  const orm = await createOrm({ url: inject('adminDatabaseUrl'), schema: 'public', entities: [], migrationsPath: '/nonexistent', migrations: [], logger });
  const server = createServiceServer({
    service: 'kit-test',
    logger,
    ready: async () => true,
    routes: {
      '/query': async (_req, res, scope) => {
        const rows = await orm.em.getConnection().execute<{ answer: number }[]>('select 42 as answer');
        scope.logger.info({ answer: rows[0]?.answer }, 'queried');
        sendJson(res, 200, { answer: rows[0]?.answer });
      },
    },
    onClose: () => orm.close(),
  });
  url = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  stop = async () => {
    // Untraced background work (an outbox poll): no parent span, so no pg span either.
    await orm.em.getConnection().execute('select 7 as background');
    await server.close();
  };
});

afterAll(async () => {
  await stop?.();
  await telemetry?.shutdown();
});

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('telemetry', () => {
  it('continues the caller’s W3C trace: a server span with the pg query beneath it, and log lines carrying its ids', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpanId = '00f067aa0ba902b7';
    const response = await fetch(`${url}/query`, { headers: { traceparent: `00-${traceId}-${callerSpanId}-01` } });
    expect(await response.json()).toEqual({ answer: 42 });

    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const server = spans.find((s) => s.instrumentationScope.name === '@opentelemetry/instrumentation-http');
    expect(server).toMatchObject({ name: 'GET /query', attributes: expect.objectContaining({ 'http.route': '/query' }) });
    expect(parentOf(server!)).toBe(callerSpanId);

    const query = spans.find((s) => s.instrumentationScope.name === '@opentelemetry/instrumentation-pg' && /select 42/i.test(String(s.attributes['db.statement'] ?? s.attributes['db.query.text'])));
    expect(query, `spans: ${spans.map((s) => s.name).join(', ')}`).toBeDefined();
    // The query span hangs under the server span (directly, or through a pool span).
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    let ancestor: ReadableSpan | undefined = query;
    while (ancestor && ancestor !== server) ancestor = byId.get(parentOf(ancestor) ?? '');
    expect(ancestor).toBe(server);

    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'queried');
    expect(logged).toMatchObject({ trace_id: traceId, span_id: server!.spanContext().spanId, answer: 42 });
  });

  it('traces no probe, and no query outside a traced request', async () => {
    await fetch(`${url}/health/live`);
    await stop();
    stop = async () => undefined;
    const names = exporter.getFinishedSpans().map((s) => `${s.name} ${String(s.attributes['db.statement'] ?? s.attributes['db.query.text'] ?? s.attributes['url.path'] ?? '')}`);
    expect(names.filter((n) => /background|health/.test(n))).toEqual([]);
  });
});
