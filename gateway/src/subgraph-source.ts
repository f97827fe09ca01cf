// How the gateway calls a subgraph: with a freshly minted internal token and the request id, timed.
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import type { Fetcher, FetcherResponse as FetchResponse } from '@apollo/utils.fetcher';
import { GraphQLError } from 'graphql';
import { Counter, Histogram, type Registry } from 'prom-client';
import { CLIENT_IP_HEADER, CLIENT_UA_HEADER, OPERATION_NAME_HEADER, type InternalTokenMinter } from '@citadel/kit/auth';
import type { GatewayContext } from './context';

/** Why a subgraph fetch failed: no answer, an HTTP error status, or GraphQL errors in the answer. */
export type SubgraphFetchError = 'network' | 'http' | 'graphql';

/** Latency and failures of the gateway's subgraph fetches, by subgraph, on the gateway's /metrics. */
export class SubgraphFetchMetrics {
  private duration: Histogram<'subgraph'> | undefined;
  private errors: Counter<'subgraph' | 'kind'> | undefined;

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
  }

  observe(subgraph: string, seconds: number, error: SubgraphFetchError | undefined): void {
    this.duration?.observe({ subgraph }, seconds);
    if (error) this.errors?.inc({ subgraph, kind: error });
  }
}

export class SubgraphSource extends RemoteGraphQLDataSource<GatewayContext> {
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

  constructor(
    private readonly subgraph: string,
    url: string,
    private readonly minter: InternalTokenMinter,
    private readonly metrics?: SubgraphFetchMetrics,
    /** The HTTP client (createSubgraphFetcher); Apollo's default, make-fetch-happen, when absent. */
    fetcher?: Fetcher,
  ) {
    super(fetcher ? { url, fetcher } : { url });
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    // Health checks and schema loads are not the traffic the latency series describe.
    if (!this.metrics || !('incomingRequestContext' in options)) return super.process(options);
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const response = await super.process(options);
      this.metrics.observe(this.subgraph, seconds(), response.errors?.length ? 'graphql' : undefined);
      return response;
    } catch (error) {
      const kind = error instanceof GraphQLError && error.extensions.code === 'SUBREQUEST_HTTP_ERROR' ? 'http' : 'network';
      this.metrics.observe(this.subgraph, seconds(), kind);
      throw error;
    }
  }

  override async willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    const headers = options.request.http?.headers;
    if (!headers) return;
    const context = 'caller' in options.context ? (options.context as GatewayContext) : undefined;
    if (!context) return; // health checks and other gateway-internal calls
    headers.set('authorization', `Bearer ${await this.minter.mint(context.caller, this.subgraph)}`);
    headers.set('x-request-id', context.requestId);
    // Always overwritten, so a client cannot pose as another address or agent.
    headers.set(CLIENT_IP_HEADER, context.client.ip ?? '');
    headers.set(CLIENT_UA_HEADER, context.client.userAgent ?? '');
    const operationName = 'incomingRequestContext' in options ? options.incomingRequestContext.request.operationName : undefined;
    if (operationName) headers.set(OPERATION_NAME_HEADER, operationName);
    else headers.delete(OPERATION_NAME_HEADER);
  }
}
