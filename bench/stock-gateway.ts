// Stock @apollo/gateway on Apollo Server (standalone), no plugins and no auth at the gateway, for
// the side-by-side comparison. Its one addition: each subgraph fetch carries the bench caller's
// internal token (bench/upstream-token.ts), for the caller its request names, or Citadel's subgraphs would refuse it.
// Usage: tsx bench/stock-gateway.ts <supergraph file> <port>
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { forPlanner } from '../gateway/src/supergraph';
import { CALLER_HEADER, upstreamTokens } from './upstream-token';

const [file, port] = process.argv.slice(2) as [string, string];
const token = await upstreamTokens();
const gateway = new ApolloGateway({
  // @apollo/gateway refuses `for: SECURITY` links; like Citadel's gateway, it gets them dropped.
  supergraphSdl: forPlanner(readFileSync(file, 'utf8')),
  buildService: ({ name, url }) =>
    new RemoteGraphQLDataSource({
      url,
      willSendRequest: async (options) => {
        const callerHeader = 'incomingRequestContext' in options ? options.incomingRequestContext.request.http?.headers.get(CALLER_HEADER) : undefined;
        options.request.http?.headers.set('authorization', `Bearer ${await token(name, callerHeader)}`);
      },
    }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { port: Number(port), host: '127.0.0.1' } });
process.stdout.write(`stock gateway ready at ${url}\n`);
