// Scenarios (a) and (b): one federated query over identity, authz and workspaces, driven at fixed
// connections for a fixed time through Citadel's gateway (authenticated, authorization on), then
// stock @apollo/gateway and Hive Gateway (no auth at the gateway, same callers at the subgraphs),
// one after another; each first as one caller on every connection, then as a caller per
// connection. Every response must equal the first, checked identical across gateways and callers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { graphqlRequest } from '@citadel/kit/testing/graphql-client';
import { startExtraGateway, type Platform } from '../e2e/launcher';
import { startOtherGateway, type GatewayName, type RunningGateway } from './gateways';
import { drive, peakTreeRssMib, type DriverFigures } from './load';
import { CALLER_HEADER } from './upstream-token';
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

/**
 * The two ways the query is sent: every connection as the same caller (identical subgraph
 * fetches in flight, which gateways that deduplicate answer once), and each connection as a caller
 * of its own (nothing can be shared: every request costs the subgraphs a full answer).
 */
export type CallerMix = 'sameCaller' | 'distinctCallers';

export type FederatedFigures = Record<CallerMix, Record<GatewayName, GatewayFigures>>;

export async function measureFederated(platform: Platform, data: Seed, load: LoadSettings): Promise<FederatedFigures> {
  const gql = `${platform.gatewayUrl}/graphql`;
  const readers = [data.reader, ...data.readers];
  const tokens = await Promise.all(readers.map((r) => login(gql, r.email)));
  const callers = await Promise.all(tokens.map((t) => callerOf(gql, t)));
  const body = JSON.stringify({ query: FEDERATED_QUERY });
  let reference: unknown;
  const figures: FederatedFigures = { sameCaller: {} as Record<GatewayName, GatewayFigures>, distinctCallers: {} as Record<GatewayName, GatewayFigures> };
  for (const name of ['citadel', 'apollo', 'hive'] as const) {
    // Citadel's gateway as the others run: a process of its own, NODE_ENV=production.
    const gateway = name === 'citadel' ? await startCitadel(platform) : await startOtherGateway(name, platform, callers);
    try {
      const as = (i: number): Record<string, string> => (name === 'citadel' ? { authorization: `Bearer ${tokens[i]}` } : { [CALLER_HEADER]: String(i) });
      for (const i of readers.keys()) {
        const first = await graphqlRequest(gateway.url, FEDERATED_QUERY, { headers: as(i) });
        const answer = JSON.stringify(first.body);
        if (first.body.errors || !first.body.data) throw new Error(`${name}: the bench query failed: ${answer.slice(0, 500)}`);
        // The same data from every gateway and caller, or the comparison is not of the same work.
        reference ??= first.body.data;
        if (!isDeepStrictEqual(first.body.data, reference)) throw new Error(`${name} answered reader ${i} differently from the first: ${answer.slice(0, 500)}`);
      }
      const expect = { equals: JSON.stringify({ data: reference }) };
      for (const mix of ['sameCaller', 'distinctCallers'] as const) {
        const headerSets = mix === 'distinctCallers' ? readers.map((_, i) => as(i)) : undefined;
        const run = await drive({ url: gateway.url, body, headers: as(0), ...(headerSets ? { headerSets } : {}), ...load, expect });
        figures[mix][name] = { ...run, peakRssMib: peakTreeRssMib(gateway.pid) };
      }
    } finally {
      await gateway.stop();
    }
  }
  return figures;
}

/** Citadel's gateway on the platform's subgraphs in a process of its own, in production mode. */
export async function startCitadel(platform: Platform, nodeArgs: string[] = []): Promise<RunningGateway> {
  const pem = readFileSync(join(platform.dataDir, 'keys', 'gateway.ed25519.pem'), 'utf8');
  const gateway = await startExtraGateway(platform, { NODE_ENV: 'production', GATEWAY_PRIVATE_KEY: pem, LOG_LEVEL: 'warn' }, nodeArgs);
  return { url: gateway.url, pid: gateway.pid, stop: () => gateway.stopped() };
}

/** The answer's size, to show the query does real work: workspaces and todos in the answer. */
export async function federatedShape(gql: string, token: string): Promise<{ workspaces: number; todos: number }> {
  const res = await graphqlRequest<{ me: { workspaces: { todos: { edges: unknown[] } }[] } }>(gql, FEDERATED_QUERY, { token });
  const workspaces = res.body.data?.me.workspaces ?? [];
  return { workspaces: workspaces.length, todos: workspaces.reduce((n, w) => n + w.todos.edges.length, 0) };
}
