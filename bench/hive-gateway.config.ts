// Hive Gateway's configuration for the side-by-side comparison: no auth at the gateway; its one
// addition is that each subgraph fetch carries the internal token of the caller the request's
// `x-bench-caller` header names (bench/upstream-token.ts), or Citadel's subgraphs would refuse it.
// Set through `propagateHeaders`, as a deployment forwarding credentials would, so the token is
// part of the request Hive's in-flight deduplication compares: headers an `onFetch` plugin adds
// are not, and requests of different callers would share one answer. Loaded by the hive-gateway
// CLI (`-c bench/hive-gateway.config.ts`), which bench/gateways.ts runs under tsx.
import { defineConfig } from '@graphql-hive/gateway';
import { CALLER_HEADER, upstreamTokens } from './upstream-token';

const token = await upstreamTokens();

export const gatewayConfig = defineConfig({
  logging: 'warn',
  propagateHeaders: {
    fromClientToSubgraphs: async ({ request, subgraphName }) => ({
      authorization: `Bearer ${await token(subgraphName, request.headers.get(CALLER_HEADER))}`,
    }),
  },
});
