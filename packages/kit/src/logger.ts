// pino loggers: one root per service; per-request children carry request id and user id.
import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths that may carry secrets: pino replaces them before anything is written. */
const REDACT = [
  'password',
  '*.password',
  'token',
  '*.token',
  'refreshToken',
  '*.refreshToken',
  'accessToken',
  '*.accessToken',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'variables.input.password',
  'variables.password',
  'variables.token',
  'variables.refreshToken',
];

export function createLogger(service: string, level: string = 'info'): Logger {
  return pino({
    level,
    base: { service },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
