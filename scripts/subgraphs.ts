// The subgraphs this repository ships: where they listen by default and how to print their SDL.
import { printSubgraphSchema } from '@apollo/subgraph';
import { sdlOnlyServices } from '@citadel/kit/federation';

export interface SubgraphInfo {
  name: string;
  /** Workspace folder, relative to the repository root. */
  dir: string;
  /** Default port, and the variable that changes it. */
  port: number;
  portSetting: string;
  /** Routing URL written into the supergraph (overridable with SUBGRAPH_<NAME>_URL at the gateway). */
  routingUrl: string;
  printSdl: () => Promise<string>;
}

export const SUBGRAPHS: SubgraphInfo[] = [
  {
    name: 'identity',
    dir: 'subgraphs/identity',
    port: 4001,
    portSetting: 'IDENTITY_PORT',
    routingUrl: 'http://127.0.0.1:4001/graphql',
    printSdl: async () => {
      const { buildIdentitySchema } = await import('../subgraphs/identity/src/schema');
      return printSubgraphSchema(await buildIdentitySchema(sdlOnlyServices()));
    },
  },
  {
    name: 'authz',
    dir: 'subgraphs/authz',
    port: 4002,
    portSetting: 'AUTHZ_PORT',
    routingUrl: 'http://127.0.0.1:4002/graphql',
    printSdl: async () => {
      const { buildAuthzSchema } = await import('../subgraphs/authz/src/schema');
      return printSubgraphSchema(await buildAuthzSchema(sdlOnlyServices()));
    },
  },
  {
    name: 'audit',
    dir: 'subgraphs/audit',
    port: 4003,
    portSetting: 'AUDIT_PORT',
    routingUrl: 'http://127.0.0.1:4003/graphql',
    printSdl: async () => {
      const { buildAuditSchema } = await import('../subgraphs/audit/src/schema');
      return printSubgraphSchema(await buildAuditSchema(sdlOnlyServices()));
    },
  },
  {
    name: 'workspaces',
    dir: 'subgraphs/workspaces',
    port: 4004,
    portSetting: 'WORKSPACES_PORT',
    routingUrl: 'http://127.0.0.1:4004/graphql',
    printSdl: async () => {
      const { buildWorkspacesSchema } = await import('../subgraphs/workspaces/src/schema');
      return printSubgraphSchema(await buildWorkspacesSchema(sdlOnlyServices()));
    },
  },
];
