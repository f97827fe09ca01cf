// Scenarios (a) and (b): one federated query over identity, authz and workspaces, driven at fixed
// connections for a fixed time through Citadel's gateway (authenticated, authorization on), then
// stock @apollo/gateway and Hive Gateway (no auth at the gateway, same caller at the subgraphs),
// one after another. Every response must equal the first, checked identical across gateways.
import { isDeepStrictEqual } from 'node:util';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import type { Platform } from '../e2e/launcher';
import { startOtherGateway, type GatewayName, type RunningGateway } from './gateways';
import { drive, findProcess, peakTreeRssMib, type DriverFigures } from './load';
import { callerOf, login, type Seed } from './seed';

export const FEDERATED_QUERY =
  '{ me { name permissions roles { scope role { name } } workspaces { name todos(first: 20) { edges { node { title assignee { name } } } } } } }';

export interface GatewayFigures extends DriverFigures {
  /** Peak resident memory of the gateway process over its life, MiB. */
  peakRssMib: number;
}

export interface LoadSettings {
  connections: number;
  seconds: number;
  warmupSeconds: number;
}

export async function measureFederated(platform: Platform, data: Seed, load: LoadSettings): Promise<Record<GatewayName, GatewayFigures>> {
  const gql = `${platform.gatewayUrl}/graphql`;
  const token = await login(gql, data.reader.email);
  const caller = await callerOf(gql, token);
  const citadel: RunningGateway = { url: gql, pid: findProcess(platform.process.pid!, 'gateway/src/main.ts'), stop: async () => undefined };
  const body = JSON.stringify({ query: FEDERATED_QUERY });
  let reference: unknown;
  const figures: Partial<Record<GatewayName, GatewayFigures>> = {};
  for (const name of ['citadel', 'apollo', 'hive'] as const) {
    const gateway = name === 'citadel' ? citadel : await startOtherGateway(name, platform, caller);
    try {
      const headers: Record<string, string> = name === 'citadel' ? { authorization: `Bearer ${token}` } : {};
      const first = await graphqlRequest(gateway.url, FEDERATED_QUERY, { headers });
      const answer = JSON.stringify(first.body);
      if (first.body.errors || !first.body.data) throw new Error(`${name}: the bench query failed: ${answer.slice(0, 500)}`);
      // The same data from every gateway, or the comparison is not of the same work.
      reference ??= first.body.data;
      if (!isDeepStrictEqual(first.body.data, reference)) throw new Error(`${name} answered differently from Citadel's gateway: ${answer.slice(0, 500)}`);
      const run = await drive({ url: gateway.url, body, headers, ...load, expect: { equals: answer } });
      figures[name] = { ...run, peakRssMib: peakTreeRssMib(gateway.pid) };
    } finally {
      await gateway.stop();
    }
  }
  return figures as Record<GatewayName, GatewayFigures>;
}

/** The answer's size, to show the query does real work: workspaces and todos in the answer. */
export async function federatedShape(gql: string, token: string): Promise<{ workspaces: number; todos: number }> {
  const res = await graphqlRequest<{ me: { workspaces: { todos: { edges: unknown[] } }[] } }>(gql, FEDERATED_QUERY, { token });
  const workspaces = res.body.data?.me.workspaces ?? [];
  return { workspaces: workspaces.length, todos: workspaces.reduce((n, w) => n + w.todos.edges.length, 0) };
}
