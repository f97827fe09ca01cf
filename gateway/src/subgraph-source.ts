// How the gateway calls a subgraph: with a freshly minted internal token and the request id.
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { FetcherResponse as FetchResponse } from '@apollo/utils.fetcher';
import { GraphQLError } from 'graphql';
import { CLIENT_IP_HEADER, CLIENT_UA_HEADER, OPERATION_NAME_HEADER, type InternalTokenMinter } from '@citadel/kit/auth';
import type { GatewayContext } from './context';

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
  ) {
    super({ url });
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
