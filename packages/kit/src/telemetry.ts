// OpenTelemetry tracing for a service: HTTP in and out (W3C trace context) and pg, exported by OTLP/HTTP.
import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { z } from './env';

/** The telemetry variables every service's env.ts parses (spread into its shape). */
export const telemetrySettings = {
  /** OTLP/HTTP base URL of a collector (spans go to `<url>/v1/traces`); unset: no tracing at all. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  /** `service.name` of the spans; defaults to the service's own name. */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
};

export interface TelemetryOptions {
  /** The service's own name (`gateway`, `identity`, ...): the default `service.name`. */
  service: string;
  serviceName?: string;
  /** OTLP/HTTP base URL; unset (and no `spanProcessors`): tracing is off and nothing is loaded. */
  endpoint?: string;
  /** More span processors, e.g. an in-memory exporter in tests. */
  spanProcessors?: SpanProcessor[];
}

export interface Telemetry {
  enabled: boolean;
  /** Exports what is still buffered; call it last on shutdown. */
  shutdown(): Promise<void>;
}

/** Probes and scrapes arrive every few hundred milliseconds: a trace each would drown the real ones. */
const UNTRACED_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * Starts the OpenTelemetry SDK, or does nothing when there is nowhere to send spans (no endpoint).
 * Must run before pg and http are first required: each service's `src/telemetry.ts` calls it and
 * is its main.ts's first import, so ESM evaluates it before any other module of the service.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (!options.endpoint && !options.spanProcessors?.length) return { enabled: false, shutdown: async () => {} };
  // Loaded only when tracing is on, so a service without a collector pays nothing for the SDK.
  const require = createRequire(import.meta.url);
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');

  const spanProcessors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (options.endpoint) {
    // OTLP/HTTP with JSON bodies; the batch delay and size come from OTEL_BSP_* as usual.
    const url = `${options.endpoint.replace(/\/+$/, '')}/v1/traces`;
    spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
  }
  const sdk = new NodeSDK({
    serviceName: options.serviceName ?? options.service,
    spanProcessors,
    // Traces only: Prometheus (/metrics) has the metrics, pino the logs.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req: IncomingMessage) => UNTRACED_PATHS.has((req.url ?? '/').split('?')[0] ?? '/'),
      }),
      // Background work (outbox relays, retention) polls the database every second: only queries
      // made while serving a traced request get a span.
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  // Services import node:http as ESM, which the require hook does not see; the http module is
  // patched (Server.prototype.emit, request, get) the first time it is required after start().
  require('node:http');
  return { enabled: true, shutdown: () => sdk.shutdown() };
}
