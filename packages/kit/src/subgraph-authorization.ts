// Defense in depth: a subgraph enforces its own @authenticated / @requiresScopes / @policy from the
// caller in the internal token, so a gateway bug (or a request that reached the subgraph another
// way) cannot read a protected field. The gateway has already removed what the caller may not see,
// so anything left that fails here is refused as a whole.
import type { ApolloServerPlugin } from '@apollo/server';
import { buildASTSchema, GraphQLError, isUnionType, parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import { printSubgraphSchema } from '@apollo/subgraph';
import { filterOperation } from './authorization/index';
import { COMMON_ERRORS } from './errors';
import type { Caller } from './auth';
import type { SubgraphContext } from './subgraph';

/**
 * The subgraph's SDL as a plain schema: printSubgraphSchema keeps the `@link` imports and the
 * directive applications that the filter reads, but leaves out `_entities`, the way the gateway
 * reads entity fields; it is added back so `_entities { ... on User { email } }` is checked too.
 */
function authorizationSchema(schema: GraphQLSchema): GraphQLSchema {
  let sdl = printSubgraphSchema(schema);
  const entity = schema.getType('_Entity');
  if (isUnionType(entity)) {
    const root = schema.getQueryType() ? 'extend type Query' : 'type Query';
    sdl += `\nscalar _Any\nunion _Entity = ${entity.getTypes().map((t) => t.name).join(' | ')}\n${root} { _entities(representations: [_Any!]!): [_Entity]! }\n`;
  }
  return buildASTSchema(parse(sdl), { assumeValidSDL: true });
}

/** Denied schema coordinates of an operation for a caller, cached per parsed document. */
export type SubgraphAuthorizer = (document: DocumentNode, operationName: string | null, caller: Caller) => readonly string[];

export function subgraphAuthorizer(schema: GraphQLSchema): SubgraphAuthorizer {
  const authSchema = authorizationSchema(schema);
  // Apollo caches parsed documents, so the same DocumentNode comes back for the same query.
  const decisions = new WeakMap<DocumentNode, Map<string, readonly string[]>>();
  return (document, operationName, caller) => {
    const key = `${operationName ?? ''}\n${caller.userId ? 1 : 0}\n${caller.permissions.join(' ')}\n${caller.policies.join(' ')}`;
    let byCaller = decisions.get(document);
    const cached = byCaller?.get(key);
    if (cached) return cached;
    const result = filterOperation({
      schema: authSchema,
      document,
      operationName,
      caller: { authenticated: caller.userId !== null, scopes: caller.permissions, policies: caller.policies },
    });
    if (!byCaller) decisions.set(document, (byCaller = new Map()));
    if (byCaller.size > 100) byCaller.clear();
    byCaller.set(key, result.deniedCoordinates);
    return result.deniedCoordinates;
  };
}

/** The error for an operation with fields the caller may not use (the coordinates go to the log only). */
export function unauthorizedOperation(): GraphQLError {
  // 200: the gateway passes a subgraph's GraphQL errors on with their code.
  return new GraphQLError('Unauthorized field or type', {
    extensions: { code: COMMON_ERRORS.UNAUTHORIZED_FIELD_OR_TYPE, http: { status: 200 } },
  });
}

export function subgraphAuthorizationPlugin(schema: GraphQLSchema): ApolloServerPlugin<SubgraphContext> {
  const denied = subgraphAuthorizer(schema);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operationName, contextValue }) {
          const coordinates = denied(document, operationName ?? null, contextValue.caller);
          if (coordinates.length === 0) return;
          contextValue.logger.warn({ denied: coordinates }, 'refused an operation with fields the caller may not use');
          throw unauthorizedOperation();
        },
      };
    },
  };
}
