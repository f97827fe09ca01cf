// The one place that reaches into @apollo/gateway's private state, for subscriptions: it plans
// them with the gateway's own query planner and runs the rest of each plan with its own executor.
// `queryPlanner`, `apiSchema`, `supergraphSchema`, `schema` and `serviceMap` are not public API:
// the gateway version is pinned exactly, and planner.test.ts fails loudly if an upgrade moves them.
import { buildOperationContext, executeQueryPlan, type ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { operationFromDocument, type Schema } from '@apollo/federation-internals';
import type { FetchNode, PlanNode, QueryPlan, QueryPlanner, SubscriptionNode } from '@apollo/query-planner';
import type { DocumentNode, ExecutionResult, GraphQLSchema } from 'graphql';
import type { SharedFetches } from './shared-fetches';

interface GatewayInternals {
  queryPlanner?: QueryPlanner;
  apiSchema?: Schema;
  supergraphSchema?: GraphQLSchema;
  schema?: GraphQLSchema;
  serviceMap?: Record<string, { url?: string; dataSource: GraphQLDataSource }>;
}

export interface SubscriptionPlan {
  primary: FetchNode;
  /** What runs for each event after the primary fetch: fields from other subgraphs. */
  rest: PlanNode | undefined;
}

/** The gateway's current schema and planner, as one snapshot: a supergraph update replaces it. */
export class PlannerSnapshot {
  private readonly wrapped = new Map<SharedFetches | undefined, Record<string, GraphQLDataSource>>();

  constructor(
    private readonly internals: Required<Pick<GatewayInternals, 'queryPlanner' | 'apiSchema' | 'supergraphSchema' | 'schema' | 'serviceMap'>>,
  ) {}

  /** The client-facing schema (what clients validate against). */
  get apiSchema(): GraphQLSchema {
    return this.internals.schema;
  }

  /**
   * A subgraph's URL as the gateway routes to it: its data source's, which has the
   * SUBGRAPH_<NAME>_URL override applied (the service map keeps the supergraph's URL).
   */
  subgraphUrl(service: string): string | undefined {
    const entry = this.internals.serviceMap[service];
    const sourceUrl = (entry?.dataSource as { url?: unknown } | undefined)?.url;
    return typeof sourceUrl === 'string' && sourceUrl.length > 0 ? sourceUrl : entry?.url;
  }

  /** The data sources, wrapped by `shared` when given: built once per snapshot, not per event. */
  private sources(shared: SharedFetches | undefined): Record<string, GraphQLDataSource> {
    let sources = this.wrapped.get(shared);
    if (!sources) {
      sources = {};
      for (const [name, { dataSource }] of Object.entries(this.internals.serviceMap)) sources[name] = shared ? shared.wrap(name, dataSource) : dataSource;
      this.wrapped.set(shared, sources);
    }
    return sources;
  }

  plan(document: DocumentNode, operationName: string | null): SubscriptionPlan {
    const operation = operationFromDocument(this.internals.apiSchema, document, { operationName: operationName ?? undefined });
    const plan: QueryPlan = this.internals.queryPlanner.buildQueryPlan(operation);
    const node = plan.node;
    if (!node || node.kind !== 'Subscription') throw new Error(`Expected a subscription plan, got ${node?.kind ?? 'none'}`);
    const { primary, rest } = node as SubscriptionNode;
    return { primary, rest };
  }

  /**
   * Runs the plan for one event: the primary fetch answers with the event (`data` and `errors` as
   * the subgraph sent them) and the rest fetches what other subgraphs own, as for a query.
   */
  async execute(
    plan: SubscriptionPlan,
    event: ExecutionResult,
    document: DocumentNode,
    operationName: string | null,
    requestContext: GatewayGraphQLRequestContext,
    shared?: SharedFetches,
  ): Promise<ExecutionResult> {
    const operationContext = buildOperationContext({ schema: this.internals.schema, operationDocument: document, operationName: operationName ?? undefined });
    const sources = this.sources(shared);
    const primarySource = sources[plan.primary.serviceName]!;
    const serviceMap: Record<string, GraphQLDataSource> = { ...sources };
    serviceMap[plan.primary.serviceName] = {
      // The primary "fetch" is the event already received; other fetches to that subgraph are real.
      // A copy: the executor merges entity fields into what it is given, and one upstream event
      // may be completed for several groups of subscribers.
      process: (options) =>
        options.request.query === plan.primary.operation
          ? Promise.resolve(structuredClone(event) as Awaited<ReturnType<GraphQLDataSource['process']>>)
          : primarySource.process(options),
    };
    const node: PlanNode = plan.rest ? { kind: 'Sequence', nodes: [plan.primary, plan.rest] } : plan.primary;
    return executeQueryPlan(
      { kind: 'QueryPlan', node },
      serviceMap,
      requestContext,
      operationContext,
      this.internals.supergraphSchema,
      this.internals.apiSchema,
      undefined,
    ) as Promise<ExecutionResult>;
  }
}

/** The gateway's planner state; throws if this @apollo/gateway version keeps it elsewhere. */
export function plannerSnapshot(gateway: ApolloGateway): PlannerSnapshot {
  const internals = gateway as unknown as GatewayInternals;
  const { queryPlanner, apiSchema, supergraphSchema, schema, serviceMap } = internals;
  if (!queryPlanner || typeof queryPlanner.buildQueryPlan !== 'function' || !apiSchema || !supergraphSchema || !schema || !serviceMap) {
    throw new Error(
      '@apollo/gateway no longer exposes queryPlanner/apiSchema/supergraphSchema/schema/serviceMap where gateway/src/subscriptions/planner.ts reads them; subscriptions need updating for this version',
    );
  }
  return new PlannerSnapshot({ queryPlanner, apiSchema, supergraphSchema, schema, serviceMap });
}
