// How the gateway calls a subgraph: with a freshly minted internal token and the request id.
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { CLIENT_IP_HEADER, CLIENT_UA_HEADER, type InternalTokenMinter } from '@citadel/kit/auth';
import type { GatewayContext } from './context';

export class SubgraphSource extends RemoteGraphQLDataSource<GatewayContext> {
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
  }
}
