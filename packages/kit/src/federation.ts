// Builds a Federation 2 subgraph schema from type-graphql resolvers.
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { parse, type GraphQLSchema } from 'graphql';
import { GraphQLDateTime } from 'graphql-scalars';
import { buildSchema, createResolversMap, type BuildSchemaOptions, type NonEmptyArray, type PubSub } from 'type-graphql';

export const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@inaccessible", "@tag", "@override", "@interfaceObject", "@composeDirective", "@authenticated", "@requiresScopes", "@policy"])';

/**
 * type-graphql refuses to build any @Subscription without a `pubSub`, even when every subscription
 * brings its own `subscribe` (ours do: they are fed by the outbox relay). Topics are not used here,
 * so this one refuses any use.
 */
const NO_TOPICS: PubSub = {
  publish: () => {
    throw new Error('type-graphql topics are not used: a @Subscription brings its own `subscribe`');
  },
  subscribe: () => {
    throw new Error('type-graphql topics are not used: a @Subscription brings its own `subscribe`');
  },
};

export interface FederatedSchemaOptions {
  /**
   * Resolver instances, built by the caller with their services: type-graphql gets an explicit
   * list (never its global metadata) and a container that hands out exactly these objects.
   */
  resolvers: object[];
  orphanedTypes?: BuildSchemaOptions['orphanedTypes'];
  /** `__resolveReference` (and other hand-written resolvers) per type name. */
  referenceResolvers?: GraphQLResolverMap<unknown>;
}

export async function buildFederatedSchema(options: FederatedSchemaOptions): Promise<GraphQLSchema> {
  const byClass = new Map<unknown, object>(options.resolvers.map((r) => [r.constructor, r]));
  const schema = await buildSchema({
    resolvers: [...byClass.keys()] as unknown as NonEmptyArray<Function>, // eslint-disable-line @typescript-eslint/no-unsafe-function-type
    container: {
      get: (cls: unknown) => {
        const instance = byClass.get(cls);
        if (!instance) throw new Error(`No resolver instance registered for ${String((cls as { name?: string }).name)}`);
        return instance;
      },
    },
    scalarsMap: [{ type: Date, scalar: GraphQLDateTime }],
    pubSub: NO_TOPICS,
    orphanedTypes: options.orphanedTypes ?? [],
    validate: false,
    emitSchemaFile: false,
    skipCheck: true,
  });
  const sdl = `${FEDERATION_LINK}\n\n${printSchemaWithDirectives(schema)}`;
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<unknown>;
  for (const [typeName, extra] of Object.entries(options.referenceResolvers ?? {})) {
    resolvers[typeName] = { ...(resolvers[typeName] as object), ...(extra as object) } as GraphQLResolverMap<unknown>[string];
  }
  return buildSubgraphSchema({ typeDefs: parse(sdl), resolvers });
}

/**
 * Services for a schema built only to print its SDL (composition): each is an object whose
 * every use throws, so a resolver that ran by mistake fails loudly instead of doing nothing.
 */
export function sdlOnlyServices<T extends object>(): T {
  return new Proxy({} as T, { get: (_target, service) => unusable(String(service)) });
}

function unusable(service: string): object {
  return new Proxy(
    {},
    {
      get: (_target, member) => {
        throw new Error(`${service}.${String(member)} used while printing SDL; build the schema with real services`);
      },
    },
  );
}
