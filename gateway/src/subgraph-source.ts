// How the gateway calls a subgraph: with a freshly minted internal token and the request id, timed,
// bounded by a timeout, retried once when a query could not connect, and failing as SUBGRAPH_UNAVAILABLE.
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import type { Fetcher, FetcherRequestInit, FetcherResponse as FetchResponse } from '@apollo/utils.fetcher';
import { GraphQLError } from 'graphql';
import { Counter, Histogram, type Registry } from 'prom-client';
import { CLIENT_IP_HEADER, CLIENT_UA_HEADER, OPERATION_NAME_HEADER, type InternalTokenMinter } from '@citadel/kit/auth';
import type { GatewayContext } from './context';
import { InflightFetches } from './inflight-fetches';
import { BufferedResponse, SubgraphConnectionError } from './subgraph-fetcher';

/** Why a subgraph fetch failed: no answer, no answer in time, an HTTP error status, or GraphQL errors in the answer. */
export type SubgraphFetchError = 'network' | 'timeout' | 'http' | 'graphql';

/**
 * Why a subgraph gave no answer (`extensions.reason` of SUBGRAPH_UNAVAILABLE). The reason tells a
 * client what a failed mutation did: UNREACHABLE means the request never got to the subgraph (not
 * applied); after CONNECTION_LOST or TIMEOUT it may or may not have been applied.
 */
export const SUBGRAPH_UNAVAILABLE_REASONS = {
  /** Nothing listens at the subgraph's address, or the address does not resolve. */
  UNREACHABLE: 'UNREACHABLE',
  /** The connection was reset or closed before the answer was complete. */
  CONNECTION_LOST: 'CONNECTION_LOST',
  /** No complete answer within the subgraph's timeout (SUBGRAPH_TIMEOUT_MS). */
  TIMEOUT: 'TIMEOUT',
} as const;

export type SubgraphUnavailableReason = keyof typeof SUBGRAPH_UNAVAILABLE_REASONS;

/** Failures that mean the request never reached the subgraph. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** Latency and failures of the gateway's subgraph fetches, by subgraph, on the gateway's /metrics. */
export class SubgraphFetchMetrics {
  private duration: Histogram<'subgraph'> | undefined;
  private errors: Counter<'subgraph' | 'kind'> | undefined;
  private deduplicated: Counter<'subgraph'> | undefined;
  private retries: Counter<'subgraph'> | undefined;

  useMetrics(registry: Registry): void {
    this.duration = new Histogram({
      name: 'citadel_gateway_subgraph_fetch_duration_seconds',
      help: 'Time from sending a fetch to a subgraph to its answer (or failure), in seconds',
      labelNames: ['subgraph'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'citadel_gateway_subgraph_fetch_errors_total',
      help: 'Subgraph fetches that failed: network (no answer), timeout (no answer in time), http (error status) or graphql (errors in the answer)',
      labelNames: ['subgraph', 'kind'] as const,
      registers: [registry],
    });
    this.deduplicated = new Counter({
      name: 'citadel_gateway_subgraph_fetches_deduplicated_total',
      help: 'Subgraph fetches answered by an identical fetch already in flight instead of their own',
      labelNames: ['subgraph'] as const,
      registers: [registry],
    });
    this.retries = new Counter({
      name: 'citadel_gateway_subgraph_fetch_retries_total',
      help: 'Subgraph query fetches sent a second time because the first could not connect or was reset before any answer',
      labelNames: ['subgraph'] as const,
      registers: [registry],
    });
  }

  observe(subgraph: string, seconds: number, error: SubgraphFetchError | undefined): void {
    this.duration?.observe({ subgraph }, seconds);
    if (error) this.errors?.inc({ subgraph, kind: error });
  }

  shared(subgraph: string): void {
    this.deduplicated?.inc({ subgraph });
  }

  retried(subgraph: string): void {
    this.retries?.inc({ subgraph });
  }
}

export interface SubgraphSourceOptions {
  metrics?: SubgraphFetchMetrics;
  /** The HTTP client (createSubgraphFetcher); Apollo's default, make-fetch-happen, when absent. */
  fetcher?: Fetcher;
  /** Identical queries in flight share one fetch (see inflight-fetches.ts); off when absent. */
  deduplicate?: boolean;
  /**
   * The longest a fetch for a client's operation may take, retry included, in ms; then it is
   * aborted (its connection closed) and answered as SUBGRAPH_UNAVAILABLE (TIMEOUT). Default 30 000.
   */
  timeoutMs?: number;
  /** Wait before the one retry of a query whose fetch could not connect, in ms. Default 100. */
  retryDelayMs?: number;
}

/**
 * A subgraph that gave no answer: what a client sees in place of that subgraph's part of the data.
 * `cause` (the socket error) is for the gateway's log; only the message and extensions are sent.
 */
export class SubgraphUnavailableError extends GraphQLError {
  constructor(
    readonly subgraph: string,
    readonly reason: SubgraphUnavailableReason,
    detail: string,
    cause?: unknown,
  ) {
    super(`Subgraph '${subgraph}' is unavailable: ${detail}`, { extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: subgraph, reason } });
    this.name = 'SubgraphUnavailableError';
    this.cause = cause;
  }
}

type OperationFetch = Extract<GraphQLDataSourceProcessOptions<GatewayContext>, { incomingRequestContext: unknown }>;

export class SubgraphSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly metrics: SubgraphFetchMetrics | undefined;
  private readonly inflight: InflightFetches | undefined;
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;

  constructor(
    private readonly subgraph: string,
    url: string,
    private readonly minter: InternalTokenMinter,
    options: SubgraphSourceOptions = {},
  ) {
    super(options.fetcher ? { url, fetcher: options.fetcher } : { url });
    this.metrics = options.metrics;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retryDelayMs = options.retryDelayMs ?? 100;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs < 1) throw new RangeError(`timeoutMs must be a positive integer, got ${this.timeoutMs}`);
    if (!Number.isInteger(this.retryDelayMs) || this.retryDelayMs < 0) throw new RangeError(`retryDelayMs must be a non-negative integer, got ${this.retryDelayMs}`);
    // The retry sits under the sharing: callers who joined a query in flight wait for its one retry, not each their own.
    if (options.deduplicate) this.inflight = new InflightFetches((url, init = {}) => this.send(url, init, true), { onShared: () => this.metrics?.shared(this.subgraph) });
  }

  /**
   * A subgraph answering with an HTTP error (a refused internal token, a crash, a proxy's 502) is
   * the platform's fault, not the client's: say which subgraph, as Apollo Router does, and keep
   * the URL, status and body out of the response (`response` is a private extension).
   */
  override async errorFromResponse(response: FetchResponse): Promise<GraphQLError> {
    return this.httpError(response, await response.text().catch(() => ''));
  }

  private httpError(response: FetchResponse, body: string): GraphQLError {
    return new GraphQLError(`HTTP fetch failed from '${this.subgraph}'`, {
      extensions: {
        code: 'SUBREQUEST_HTTP_ERROR',
        serviceName: this.subgraph,
        response: { url: response.url, status: response.status, body: body.slice(0, 500) },
      },
    });
  }

  override didEncounterError(error: Error, _request: unknown, _response: unknown, context?: GatewayContext): void {
    const details = error instanceof GraphQLError ? error.extensions.response : undefined;
    const logger = context && 'logger' in context ? context.logger : undefined;
    // pino's err serializer appends a SubgraphUnavailableError's cause (the socket error) to it.
    logger?.error({ err: error, subgraph: this.subgraph, response: details }, 'subgraph request failed');
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    // Health checks and schema loads go Apollo's way; they are not the traffic the metrics describe.
    if (!('incomingRequestContext' in options)) return super.process(options);
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const response = await this.fetchOperation(options);
      this.metrics?.observe(this.subgraph, seconds(), response.errors?.length ? 'graphql' : undefined);
      return response;
    } catch (error) {
      this.metrics?.observe(this.subgraph, seconds(), failureKind(error));
      throw error;
    }
  }

  /**
   * One POST to the subgraph within the timeout. A query that could not connect, or whose
   * connection was reset before any answer (a restarting subgraph, a kept-alive connection the
   * subgraph had just closed), is sent once more after a short wait: it only reads, so a second
   * try cannot do anything twice. A mutation is never resent, and nothing is after a timeout.
   */
  private async send(url: string, init: FetcherRequestInit, idempotent: boolean): Promise<FetchResponse> {
    const deadline = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // The race, not the abort alone, ends the wait: a fetcher may resolve at the headers and then
    // stall in the body, or not honour the signal at all. The abort is what closes the connection.
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        deadline.abort();
        reject(new SubgraphUnavailableError(this.subgraph, 'TIMEOUT', `no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([this.attempts(url, { ...init, signal: deadline.signal }, idempotent), expired]);
    } catch (error) {
      throw error instanceof SubgraphUnavailableError ? error : this.unavailable(error, deadline.signal.aborted);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The fetch, read in full, and its one retry when `idempotent` and it got no answer at all. */
  private async attempts(url: string, init: FetcherRequestInit, idempotent: boolean): Promise<FetchResponse> {
    try {
      return await BufferedResponse.read(await this.fetcher(url, init));
    } catch (error) {
      if (init.signal?.aborted || !idempotent || !beforeAnyAnswer(error)) throw error;
      this.metrics?.retried(this.subgraph);
      await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
      if (init.signal?.aborted) throw error;
      return await BufferedResponse.read(await this.fetcher(url, init));
    }
  }

  /** A fetch that got no answer, as the error a client sees. */
  private unavailable(error: unknown, timedOut: boolean): SubgraphUnavailableError {
    if (timedOut) return new SubgraphUnavailableError(this.subgraph, 'TIMEOUT', `no answer within ${this.timeoutMs} ms`, error);
    if (UNREACHABLE_CODES.has(errorCode(error) ?? '')) return new SubgraphUnavailableError(this.subgraph, 'UNREACHABLE', 'it could not be reached', error);
    return new SubgraphUnavailableError(this.subgraph, 'CONNECTION_LOST', 'the connection closed before its answer was complete', error);
  }

  /**
   * A fetch the executor makes for a client's operation: RemoteGraphQLDataSource's path without
   * its node-fetch Headers and Request per fetch, and shared with an identical one in flight when
   * deduplication is on. Only for queries: a read made while a mutation of the same operation is
   * under way must see that mutation's writes, which a fetch started earlier may not.
   * Subgraph cache-control headers are not read: no Citadel schema sets cache hints, so every
   * operation's cache policy is uncacheable whatever the subgraphs say.
   */
  private async fetchOperation(options: OperationFetch): Promise<GatewayGraphQLResponse> {
    const { request, context } = options;
    if (!request.query) throw new Error('Missing query');
    const headers = await this.headersFor(options);
    const { http: _http, ...payload } = request;
    const body = JSON.stringify(payload);
    let response: FetchResponse | undefined;
    try {
      const query = options.incomingRequestContext.operation?.operation === 'query';
      response =
        this.inflight && query
          ? await this.inflight.post(this.url, headers, body)
          : await this.send(this.url, { method: 'POST', headers, body }, query);
      if (!response.ok) {
        const body = await response.text().catch(() => '');
        const refused = inputRefusal(response.status, body);
        if (refused) return { errors: refused, http: response };
        throw this.httpError(response, body);
      }
      const parsed = await this.parseBody(response);
      if (typeof parsed !== 'object' || parsed === null) throw new Error(`Expected JSON response body, but received: ${String(parsed)}`);
      return { ...parsed, http: response };
    } catch (error) {
      this.didEncounterError(error as Error, undefined, response, 'caller' in context ? (context as GatewayContext) : undefined);
      throw error;
    }
  }

  /** What every fetch for a client's operation carries: the caller's internal token, the request id, the client. */
  private async headersFor(options: OperationFetch): Promise<Record<string, string>> {
    const headers: Record<string, string> = {};
    for (const [name, value] of options.request.http?.headers ?? []) headers[name] = value;
    headers['content-type'] = 'application/json';
    const context = 'caller' in options.context ? (options.context as GatewayContext) : undefined;
    if (!context) return headers; // gateway-internal calls carry no caller
    headers.authorization = `Bearer ${await this.minter.mint(context.caller, this.subgraph)}`;
    headers['x-request-id'] = context.requestId;
    // Always overwritten, so a client cannot pose as another address or agent.
    headers[CLIENT_IP_HEADER] = context.client.ip ?? '';
    headers[CLIENT_UA_HEADER] = context.client.userAgent ?? '';
    const operationName = options.incomingRequestContext.request.operationName;
    if (operationName) headers[OPERATION_NAME_HEADER] = operationName;
    return headers;
  }
}

/**
 * A subgraph's 400 that refuses the client's input: every error BAD_USER_INPUT, e.g. a variable of
 * a custom scalar (DateTime) that the gateway passes through unchecked and the subgraph cannot
 * parse. That is the client's mistake, so the client gets the subgraph's errors (message and code)
 * rather than SUBREQUEST_HTTP_ERROR. Any other 400 (a plan the subgraph refuses) stays the
 * platform's fault.
 */
export function inputRefusal(status: number, body: string): { message: string; extensions: { code: string } }[] | undefined {
  if (status !== 400) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const refusals = errors.map((e: unknown) => {
    const { message, extensions } = (e ?? {}) as { message?: unknown; extensions?: { code?: unknown } };
    return typeof message === 'string' && extensions?.code === 'BAD_USER_INPUT' ? { message, extensions: { code: 'BAD_USER_INPUT' } } : undefined;
  });
  return refusals.every((r) => r !== undefined) ? refusals : undefined;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether a failed fetch certainly got no answer at all: refused, or reset before the first byte
 * of a response. Apollo's default fetcher does not say which, so only a refusal counts for it.
 */
function beforeAnyAnswer(error: unknown): boolean {
  if (error instanceof SubgraphConnectionError) return !error.answered;
  return errorCode(error) === 'ECONNREFUSED';
}

function failureKind(error: unknown): SubgraphFetchError {
  if (error instanceof SubgraphUnavailableError) return error.reason === 'TIMEOUT' ? 'timeout' : 'network';
  return error instanceof GraphQLError && error.extensions.code === 'SUBREQUEST_HTTP_ERROR' ? 'http' : 'network';
}
