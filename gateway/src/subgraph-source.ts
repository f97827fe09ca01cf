// How the gateway calls a subgraph: with a freshly minted internal token and the request id, timed.
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import type { Fetcher, FetcherResponse as FetchResponse } from '@apollo/utils.fetcher';
import { GraphQLError } from 'graphql';
import { Counter, Histogram, type Registry } from 'prom-client';
import { CLIENT_IP_HEADER, CLIENT_UA_HEADER, OPERATION_NAME_HEADER, type InternalTokenMinter } from '@citadel/kit/auth';
import type { GatewayContext } from './context';
import { InflightFetches } from './inflight-fetches';

/** Why a subgraph fetch failed: no answer, an HTTP error status, or GraphQL errors in the answer. */
export type SubgraphFetchError = 'network' | 'http' | 'graphql';

/** Latency and failures of the gateway's subgraph fetches, by subgraph, on the gateway's /metrics. */
export class SubgraphFetchMetrics {
  private duration: Histogram<'subgraph'> | undefined;
  private errors: Counter<'subgraph' | 'kind'> | undefined;
  private deduplicated: Counter<'subgraph'> | undefined;

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
      help: 'Subgraph fetches that failed: network (no answer), http (error status) or graphql (errors in the answer)',
      labelNames: ['subgraph', 'kind'] as const,
      registers: [registry],
    });
    this.deduplicated = new Counter({
      name: 'citadel_gateway_subgraph_fetches_deduplicated_total',
      help: 'Subgraph fetches answered by an identical fetch already in flight instead of their own',
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
}

export interface SubgraphSourceOptions {
  metrics?: SubgraphFetchMetrics;
  /** The HTTP client (createSubgraphFetcher); Apollo's default, make-fetch-happen, when absent. */
  fetcher?: Fetcher;
  /** Identical queries in flight share one fetch (see inflight-fetches.ts); off when absent. */
  deduplicate?: boolean;
}

type OperationFetch = Extract<GraphQLDataSourceProcessOptions<GatewayContext>, { incomingRequestContext: unknown }>;

export class SubgraphSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly metrics: SubgraphFetchMetrics | undefined;
  private readonly inflight: InflightFetches | undefined;

  constructor(
    private readonly subgraph: string,
    url: string,
    private readonly minter: InternalTokenMinter,
    options: SubgraphSourceOptions = {},
  ) {
    super(options.fetcher ? { url, fetcher: options.fetcher } : { url });
    this.metrics = options.metrics;
    if (options.deduplicate) this.inflight = new InflightFetches(this.fetcher, { onShared: () => this.metrics?.shared(this.subgraph) });
  }

  /**
   * A subgraph answering with an HTTP error (a refused internal token, a crash, a proxy's 502) is
   * the platform's fault, not the client's: say which subgraph, as Apollo Router does, and keep
   * the URL, status and body out of the response (`response` is a private extension).
   */
  override async errorFromResponse(response: FetchResponse): Promise<GraphQLError> {
    const body = await response.text().catch(() => '');
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
      const kind = error instanceof GraphQLError && error.extensions.code === 'SUBREQUEST_HTTP_ERROR' ? 'http' : 'network';
      this.metrics?.observe(this.subgraph, seconds(), kind);
      throw error;
    }
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
      response =
        this.inflight && options.incomingRequestContext.operation?.operation === 'query'
          ? await this.inflight.post(this.url, headers, body)
          : await this.fetcher(this.url, { method: 'POST', headers, body });
      if (!response.ok) throw await this.errorFromResponse(response);
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
