// The subgraphs this repository ships: where they listen by default and how to print their SDL.
// Feature subgraphs are listed once, in FEATURE_SUBGRAPHS: composition, migrations and both
// launchers (scripts/start.ts, e2e/launcher.ts) derive everything else from a name and a port.
import type { OrmOptions } from '@citadel/kit/db';
import type { GraphQLSchema } from 'graphql';

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

/** `sdlOnlyServices` from the kit: services whose every use throws, for a schema only printed. */
export type UnusableServices = <T extends object>() => T;

/** What a subgraph hands `createOrm` and `migrate`: its `database` export from `src/schema.ts`. */
export type SubgraphDatabase = Pick<OrmOptions, 'schema' | 'entities' | 'migrations' | 'migrationsPath'>;

/** A feature subgraph: folder `subgraphs/<name>`, settings `<NAME>_HOST`/`<NAME>_PORT`, Postgres schema `<name>`. */
export interface FeatureSubgraph {
  name: string;
  /** Default port. */
  port: number;
  /** Its schema built with unusable services, to print its SDL. Loaded only when called. */
  schema: (unusable: UnusableServices) => Promise<GraphQLSchema>;
  /** Its `database`, for `npm run migrate` and the launcher. Loaded only when called. */
  database: () => Promise<SubgraphDatabase>;
}

export const FEATURE_SUBGRAPHS: FeatureSubgraph[] = [
  {
    name: 'workspaces',
    port: 4004,
    schema: async (unusable) => (await import('../subgraphs/workspaces/src/schema')).buildWorkspacesSchema(unusable()),
    database: async () => (await import('../subgraphs/workspaces/src/schema')).database,
  },
  // new:subgraph inserts feature subgraphs above this line
];

/** The settings a feature subgraph is configured with: `PROJECTS_PORT` and so on. */
export function featureSettings(name: string): { host: string; port: string; privateKey: string; routingUrl: string } {
  const prefix = name.toUpperCase();
  return { host: `${prefix}_HOST`, port: `${prefix}_PORT`, privateKey: `${prefix}_PRIVATE_KEY`, routingUrl: `SUBGRAPH_${prefix}_URL` };
}

async function printSdl(build: (unusable: UnusableServices) => Promise<GraphQLSchema>): Promise<string> {
  // Loaded here, not at the top: the launchers import this file and need none of it.
  const [{ printSubgraphSchema }, { sdlOnlyServices }] = await Promise.all([import('@apollo/subgraph'), import('@citadel/kit/federation')]);
  return printSubgraphSchema(await build(sdlOnlyServices));
}

const platform = (name: string, port: number, build: (unusable: UnusableServices) => Promise<GraphQLSchema>): SubgraphInfo => ({
  name,
  dir: `subgraphs/${name}`,
  port,
  portSetting: featureSettings(name).port,
  routingUrl: `http://127.0.0.1:${port}/graphql`,
  printSdl: () => printSdl(build),
});

export const SUBGRAPHS: SubgraphInfo[] = [
  platform('identity', 4001, async (unusable) => (await import('../subgraphs/identity/src/schema')).buildIdentitySchema(unusable())),
  platform('authz', 4002, async (unusable) => (await import('../subgraphs/authz/src/schema')).buildAuthzSchema(unusable())),
  platform('audit', 4003, async (unusable) => (await import('../subgraphs/audit/src/schema')).buildAuditSchema(unusable())),
  ...FEATURE_SUBGRAPHS.map((feature) => platform(feature.name, feature.port, feature.schema)),
];
