// pino loggers: one root per service; per-request children carry request id and user id.
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Paths that may carry secrets: pino replaces them before anything is written. */
const SECRET_KEYS = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'refreshToken',
  'accessToken',
  'recoveryCode',
  'challenge',
  'mfaChallenge',
  'secret',
  'otpauthUri',
];
const REDACT = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  ...SECRET_KEYS.map((k) => `variables.input.${k}`),
  // `code` alone is too common a key (error codes) to redact everywhere: only where a TOTP code goes.
  'variables.code',
  'variables.input.code',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
];

export function createLogger(service: string, level: string = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: traceFields,
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * `trace_id` and `span_id` (OpenTelemetry's log field names) of the span active when a line is
 * written, so a log line leads to its trace. Nothing when tracing is off: no span is ever active.
 */
function traceFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  // A fresh object each time: pino merges the line's fields into what the mixin returns.
  if (!span) return {};
  const spanContext = span.spanContext();
  return isSpanContextValid(spanContext) ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
}
