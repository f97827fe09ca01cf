// Field-level authorization around @apollo/gateway: Apollo Server talks to this object, which
// filters each operation for its caller before the real gateway plans it, then puts the removed
// fields back as null with an error, as Apollo Router does.
import { createHash } from 'node:crypto';
import type { ApolloGateway } from '@apollo/gateway';
import type {
  GatewayExecutionResult,
  GatewayExecutor,
  GatewayGraphQLRequestContext,
  GatewayInterface,
  GatewaySchemaLoadOrUpdateCallback,
} from '@apollo/server-gateway-interface';
import { buildASTSchema, GraphQLError, parse, print, type DocumentNode, type GraphQLSchema } from 'graphql';
import { Counter, type Registry } from 'prom-client';
import { filterOperation, restoreRemovedFields, type FilterResult } from './authorization';
import type { Caller } from '@citadel/kit/auth';
import type { GatewayContext } from './context';
import type { Denial } from './denial-audit';

export type AuthorizationMode = 'filter' | 'reject';

export interface AuthorizingGatewayOptions {
  /** `filter` (default): unauthorized fields come back null with an error. `reject`: the whole operation is refused. */
  mode: AuthorizationMode;
  /** Told of every operation with a denial (for the audit trail). Must not throw or block. */
  onDenied?: (denial: Denial) => void;
  /** Filter decisions kept per document, one per (operation, permission set, policies). */
  cacheSize?: number;
}

export interface Decision extends FilterResult {
  /** The filtered document's hash: the plan cache key, so no plan is shared across different filterings. */
  queryHash: string;
}

const UNAUTHORIZED = 'UNAUTHORIZED_FIELD_OR_TYPE';

export class AuthorizingGateway implements GatewayInterface {
  private schema: GraphQLSchema | undefined;
  private decisions = new WeakMap<DocumentNode, Map<string, Decision>>();
  private denials: Counter<'coordinate'> | undefined;
  private readonly cacheSize: number;

  constructor(
    private readonly inner: ApolloGateway,
    private readonly options: AuthorizingGatewayOptions,
  ) {
    this.cacheSize = options.cacheSize ?? 1_000;
    // The planner's copy of the supergraph still carries the directive applications; only the
    // `for: SECURITY` purpose was dropped. Registered before load() so the first schema is seen.
    inner.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
      this.schema = buildASTSchema(parse(coreSupergraphSdl), { assumeValidSDL: true });
      this.decisions = new WeakMap();
    });
  }

  onSchemaLoadOrUpdate(callback: GatewaySchemaLoadOrUpdateCallback) {
    return this.inner.onSchemaLoadOrUpdate(callback);
  }

  async load(options: Parameters<GatewayInterface['load']>[0]) {
    const { schema, executor } = await this.inner.load(options);
    return { schema, executor: executor ? this.authorizing(executor) : null };
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  /** Counts denied coordinates on the gateway's /metrics: `citadel_authorization_denied_total{coordinate}`. */
  useMetrics(registry: Registry): void {
    this.denials = new Counter({
      name: 'citadel_authorization_denied_total',
      help: 'Fields and types removed or refused by authorization, by schema coordinate',
      labelNames: ['coordinate'] as const,
      registers: [registry],
    });
  }

  private authorizing(executor: GatewayExecutor): GatewayExecutor {
    return async (requestContext) => {
      // Fail closed: nothing runs unfiltered. Apollo resolved the operation before calling us; a
      // name that selects none (e.g. "") must not reach the planner, which would run the only one.
      if (!this.schema) return { errors: [failure('SERVICE_UNAVAILABLE', 'The gateway has no schema to authorize against yet')] };
      if (!requestContext.document || !requestContext.operation) {
        return { errors: [failure('OPERATION_RESOLUTION_FAILURE', 'The request names no operation of its document')] };
      }
      const context = requestContext.context as unknown as GatewayContext;
      const operationName = operationNameOf(requestContext);
      const document = requestContext.document as DocumentNode;
      const decision = this.decide(document, operationName, context.caller, requestContext.queryHash)!;
      if (decision.unauthorizedPaths.length === 0) return executor(requestContext);
      this.reportDenied(decision, context, operationName);
      if (this.options.mode === 'reject' || decision.unauthorizedPaths.includes('')) {
        return { errors: this.rejection(decision) };
      }
      const variables = requestContext.request.variables;
      if (!decision.document) return this.restore(document, operationName, decision.removed, { data: {} }, variables);
      const filtered = { ...requestContext, document: decision.document, queryHash: decision.queryHash } as GatewayGraphQLRequestContext;
      return this.restore(document, operationName, decision.removed, await executor(filtered), variables);
    };
  }

  get mode(): AuthorizationMode {
    return this.options.mode;
  }

  /** The errors refusing an operation as a whole (reject mode, or nothing left to run). */
  rejection(decision: Decision): GraphQLError[] {
    return decision.unauthorizedPaths.map(rejection);
  }

  /** Counts, logs and audits an operation with a denial. */
  reportDenied(decision: Decision, context: GatewayContext, operationName: string | null): void {
    for (const coordinate of decision.deniedCoordinates) this.denials?.inc({ coordinate });
    context.logger?.info({ denied: decision.deniedCoordinates, operationName }, 'fields removed by authorization');
    this.options.onDenied?.({
      caller: context.caller,
      client: context.client,
      requestId: context.requestId,
      operationName,
      coordinates: decision.deniedCoordinates,
      mode: this.options.mode,
    });
  }

  /** Puts the removed fields back into a result as null, each with its error. */
  restore(
    document: DocumentNode,
    operationName: string | null,
    removed: FilterResult['removed'],
    result: GatewayExecutionResult,
    variables: Record<string, unknown> | undefined,
  ): GatewayExecutionResult {
    const restored = restoreRemovedFields({ schema: this.schema!, document, operationName, removed, data: result.data, variables });
    const errors = [...restored.errors, ...(result.errors ?? [])];
    // A response with no error carries no `errors` entry at all (GraphQL spec, "Response Format").
    return { ...result, data: restored.data, errors: errors.length > 0 ? errors : undefined };
  }

  /**
   * What the caller may run of the document: undefined until a schema is loaded. Decisions are
   * cached per parsed document (Apollo hands back the same DocumentNode for the same query while
   * it stays in its document cache), since `removed` refers to that document's nodes.
   */
  decide(document: DocumentNode, operationName: string | null, caller: Caller, queryHash: string): Decision | undefined {
    const schema = this.schema;
    if (!schema) return undefined;
    const key = `${operationName ?? ''}\n${caller.userId ? 1 : 0}\n${caller.permissions.join(' ')}\n${caller.policies.join(' ')}`;
    let byCaller = this.decisions.get(document);
    const cached = byCaller?.get(key);
    if (cached) return cached;
    const result = filterOperation({
      schema,
      document,
      operationName,
      caller: { authenticated: caller.userId !== null, scopes: caller.permissions, policies: caller.policies },
    });
    const decision: Decision = {
      ...result,
      queryHash: result.document && result.document !== document ? createHash('sha256').update(print(result.document)).digest('hex') : queryHash,
    };
    if (!byCaller) this.decisions.set(document, (byCaller = new Map()));
    if (byCaller.size >= this.cacheSize) byCaller.delete(byCaller.keys().next().value!);
    byCaller.set(key, decision);
    return decision;
  }
}

/** The operation Apollo selected; "" means no name, as @apollo/gateway reads it. */
function operationNameOf(requestContext: GatewayGraphQLRequestContext): string | null {
  return requestContext.operation?.name?.value ?? (requestContext.request.operationName || null);
}

function failure(code: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

function rejection(path: string): GraphQLError {
  return new GraphQLError('Unauthorized field or type', { extensions: { code: UNAUTHORIZED, unauthorizedPath: path } });
}
