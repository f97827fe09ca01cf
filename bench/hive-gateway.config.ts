// Hive Gateway's configuration for the side-by-side comparison: no auth at the gateway; its one
// addition is that each subgraph fetch carries the bench caller's internal token
// (bench/upstream-token.ts), for the caller the request names, or Citadel's subgraphs would refuse it. Loaded by the hive-gateway
// CLI (`-c bench/hive-gateway.config.ts`), which bench/gateways.ts runs under tsx.
import { defineConfig } from '@graphql-hive/gateway';
import { CALLER_HEADER, subgraphUrls, upstreamTokens } from './upstream-token';

const token = await upstreamTokens();
const byUrl = new Map(Object.entries(subgraphUrls()).map(([name, url]) => [url, name]));

export const gatewayConfig = defineConfig({
  logging: 'warn',
  plugins: () => [
    {
      async onFetch({ url, options, setOptions, context }) {
        const subgraph = byUrl.get(url);
        if (!subgraph) return;
        const callerHeader = (context as { request?: Request } | undefined)?.request?.headers.get(CALLER_HEADER);
        setOptions({ ...options, headers: { ...(options.headers as Record<string, string>), authorization: `Bearer ${await token(subgraph, callerHeader)}` } });
      },
    },
  ],
});
