// The HTTP server every service runs: health, metrics, request ids, body limits, CORS, shutdown.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { DATABASE_FAULT_MESSAGES, databaseFault } from './database-faults';
import { DEFAULT_MAX_BODY_BYTES, discardRest, HttpError, requestIdOf, sendJson, sendJsonError } from './http';
import { createMetrics, type ServiceMetrics } from './metrics';

export interface RequestScope {
  requestId: string;
  logger: Logger;
  maxBodyBytes: number;
}

/** Probes and scrapes are not worth a log line each. */
const QUIET_ROUTES = new Set(['/health/live', '/health/ready', '/metrics']);

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, scope: RequestScope) => Promise<void> | void;

export interface ServiceServerOptions {
  service: string;
  logger: Logger;
  /** Exact-path routes, e.g. `/graphql` or `/.well-known/jwks.json`. */
  routes: Record<string, RouteHandler>;
  /** Readiness: resolves true when the service can do its work (database reachable, schema loaded). */
  ready: () => Promise<boolean>;
  /** Largest request body accepted, in bytes; larger ones get 413. Default 1 MB. */
  maxBodyBytes?: number;
  /** Routes polled so often that a log line per request is noise (health and metrics always are). */
  quietRoutes?: readonly string[];
  /** Origins allowed by CORS; empty means no cross-origin browser access. */
  corsOrigins?: readonly string[];
  /** Called once when shutdown starts, before draining: close long-lived connections (WebSocket) here. */
  beforeDrain?: () => Promise<void>;
  /** Called once after the server stopped accepting and in-flight requests drained. */
  onClose?: () => Promise<void>;
  /** How long shutdown waits for in-flight requests before closing them, ms. Default 10 s. */
  drainTimeoutMs?: number;
  /**
   * How long shutdown keeps serving after readiness turned false, ms, before it stops accepting:
   * the time a load balancer needs to notice and send new requests elsewhere. Default 0.
   */
  shutdownDelayMs?: number;
}

export interface ServiceServer {
  http: Server;
  metrics: ServiceMetrics;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

export function createServiceServer(options: ServiceServerOptions): ServiceServer {
  const { logger, routes } = options;
  const metrics = createMetrics(options.service);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const corsOrigins = new Set(options.corsOrigins ?? []);
  const quiet = new Set([...QUIET_ROUTES, ...(options.quietRoutes ?? [])]);
  let closing: Promise<void> | undefined;
  /** Responses not yet sent: told to close their connection when shutdown starts. */
  const inFlight = new Set<ServerResponse>();

  const builtIn: Record<string, RouteHandler> = {
    '/health/live': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/health/ready': async (_req, res) => {
      const ok = !closing && (await options.ready().catch(() => false));
      sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable' });
    },
    '/metrics': async (_req, res) => {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
    },
  };

  // Node's own check answers a missing Host with an empty 400; ours answers it in JSON like every other refusal.
  const http = createServer({ requireHostHeader: false }, async (req, res) => {
    const started = process.hrtime.bigint();
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const handler = builtIn[path] ?? routes[path];
    const route = handler ? path : 'unmatched';
    // The HTTP server span (when tracing is on) is named for the route, as a router would name it.
    trace.getActiveSpan()?.updateName(`${req.method ?? 'GET'} ${route}`).setAttribute('http.route', route);
    const scope: RequestScope = { requestId, logger: logger.child({ requestId }), maxBodyBytes };
    res.on('finish', () => {
      const labels = { method: req.method ?? 'GET', route, status: String(res.statusCode) };
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, seconds);
      if (!quiet.has(route)) {
        scope.logger.info({ method: labels.method, route, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10 }, 'request');
      }
    });
    if (applyCors(req, res, corsOrigins)) return;
    // While shutting down, every response ends its connection: the client's next request opens a
    // new one, which the load balancer sends to a node that is still ready.
    if (closing) res.setHeader('connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    try {
      // HTTP/1.1 requires Host (RFC 9112 3.2); it also goes missing when Node drops headers past maxHeadersCount.
      if (req.httpVersion === '1.1' && !req.headers.host) return sendJsonError(res, 400, 'BAD_REQUEST', 'Request has no Host header');
      if (!handler) return sendJsonError(res, 404, 'NOT_FOUND', `No route for ${path}`);
      await handler(req, res, scope);
    } catch (error) {
      if (error instanceof HttpError) {
        if (error.status === 413) await discardRest(req);
        return sendJsonError(res, error.status, error.code, error.message, error.extensions);
      }
      const fault = databaseFault(error);
      if (fault) {
        scope.logger.warn({ fault }, 'database unavailable');
        return sendJsonError(res, 503, 'SERVICE_UNAVAILABLE', DATABASE_FAULT_MESSAGES[fault], { reason: fault });
      }
      scope.logger.error({ err: error }, 'request failed');
      sendJsonError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
    }
  });
  http.keepAliveTimeout = 65_000;
  http.on('clientError', (error: NodeJS.ErrnoException, socket) => answerClientError(error, socket));

  return {
    http,
    metrics,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) => {
          http.off('listening', onListening);
          reject(error);
        };
        const onListening = () => {
          http.off('error', onError);
          const address = http.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        };
        http.once('error', onError);
        http.once('listening', onListening);
        http.listen(port, host);
      }),
    close: () => {
      closing ??= (async () => {
        // Readiness is false from here on (see /health/ready); requests still arriving are served.
        for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
        if (options.shutdownDelayMs) await new Promise((resolve) => setTimeout(resolve, options.shutdownDelayMs));
        await options.beforeDrain?.();
        const drained = new Promise<void>((resolve) => http.close(() => resolve()));
        // Keep-alive connections go as soon as they are idle (a response sent before shutdown began
        // did not say `connection: close`); in-flight requests finish, up to the drain timeout.
        http.closeIdleConnections();
        const sweep = setInterval(() => http.closeIdleConnections(), 50);
        const timer = setTimeout(() => http.closeAllConnections(), options.drainTimeoutMs ?? 10_000);
        await drained;
        clearInterval(sweep);
        clearTimeout(timer);
        await options.onClose?.();
      })();
      return closing;
    },
  };
}

/**
 * A request Node's parser refused (headers over its limit, a malformed request line) gets the same
 * JSON error as any other, instead of Node's empty 400/431, then the connection closes.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A response already under way on this connection cannot be followed by another.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'REQUEST_HEADER_FIELDS_TOO_LARGE', 'Request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'REQUEST_TIMEOUT', 'Request took too long to arrive']
        : [400, 'BAD_REQUEST', 'Malformed HTTP request'];
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  const reason = STATUS_CODES[status] ?? 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Answers preflights and sets CORS headers for allowed origins; true when the request is done. */
function applyCors(req: IncomingMessage, res: ServerResponse, allowed: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (origin && (allowed.has(origin) || allowed.has('*'))) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'Origin');
    res.setHeader('access-control-expose-headers', 'x-request-id');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers':
          req.headers['access-control-request-headers'] ?? 'content-type, authorization, x-request-id',
        'access-control-max-age': '600',
      });
      res.end();
      return true;
    }
  }
  return false;
}

/** Closes `close` once on SIGTERM or SIGINT, then exits; a second signal exits at once. */
export function onShutdownSignal(logger: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}

/**
 * Listens, or says once why it cannot (port taken, not allowed) with the setting to change,
 * runs `cleanup`, and exits 1.
 */
export async function listenOrExit(
  server: ServiceServer,
  at: { host: string; port: number; setting: string },
  logger: Logger,
  cleanup: () => Promise<void>,
): Promise<number> {
  try {
    const port = await server.listen(at.port, at.host);
    logger.info({ port, url: `http://${at.host}:${port}/` }, 'listening');
    return port;
  } catch (error) {
    const message = explainListenError(error, at.port, at.setting);
    if (!message) throw error;
    logger.fatal(message);
    await cleanup();
    process.exit(1);
  }
}

/** A fatal start-up error, said once with what to do about it. */
export function explainListenError(error: unknown, port: number, setting: string): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return `Port ${port} is already in use. Stop what is using it or choose another port with ${setting}.`;
  if (code === 'EACCES') return `Not allowed to listen on port ${port}. Choose a port above 1024 with ${setting}.`;
  return undefined;
}
