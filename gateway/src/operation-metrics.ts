// GraphQL requests and their latency per operation name on the gateway's /metrics, with bounded labels.
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { Counter, Histogram, type Registry } from 'prom-client';

export interface OperationMetricsOptions {
  /**
   * How many distinct operation names become label values (default 200). Names are the client's
   * choice, so later new names are counted as `other` instead of growing the series without end.
   */
  maxOperationNames?: number;
}

type Labels = 'operation' | 'type';

/** The `operation` label of an unnamed operation. */
export const ANONYMOUS = 'anonymous';
/** The `operation` label of a request that never named a runnable operation (unparsable, invalid). */
export const UNRESOLVED = 'unresolved';
/** The `operation` label of names seen after the first `maxOperationNames`. */
export const OTHER = 'other';

export class OperationMetrics {
  private readonly maxNames: number;
  private readonly names = new Set<string>();
  private requests: Counter<Labels | 'outcome'> | undefined;
  private duration: Histogram<Labels> | undefined;

  constructor(options: OperationMetricsOptions = {}) {
    this.maxNames = options.maxOperationNames ?? 200;
    if (!Number.isInteger(this.maxNames) || this.maxNames < 1) {
      throw new RangeError(`maxOperationNames must be a positive integer, got ${options.maxOperationNames}`);
    }
  }

  useMetrics(registry: Registry): void {
    this.requests = new Counter({
      name: 'citadel_graphql_operations_total',
      help: 'GraphQL operations answered, by operation name, type and outcome (ok, or error when the answer has errors)',
      labelNames: ['operation', 'type', 'outcome'] as const,
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'citadel_graphql_operation_duration_seconds',
      help: 'From a GraphQL request arriving to its answer, by operation name and type, in seconds',
      labelNames: ['operation', 'type'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  }

  /** The label an operation name is counted under. */
  label(name: string | null | undefined): string {
    if (!name) return ANONYMOUS;
    if (this.names.has(name)) return name;
    if (this.names.size >= this.maxNames) return OTHER;
    this.names.add(name);
    return name;
  }

  plugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
    return {
      requestDidStart: async () => {
        const started = process.hrtime.bigint();
        let operation = UNRESOLVED;
        let type = 'unknown';
        return {
          didResolveOperation: async (context) => {
            // operationName comes from the parsed document here, so it is a GraphQL name, not free text.
            operation = this.label(context.operationName);
            type = context.operation?.operation ?? type;
          },
          willSendResponse: async (context) => {
            const body = context.response.body;
            const failed = (context.errors?.length ?? 0) > 0 || (body.kind === 'single' && (body.singleResult.errors?.length ?? 0) > 0);
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            this.requests?.inc({ operation, type, outcome: failed ? 'error' : 'ok' });
            this.duration?.observe({ operation, type }, seconds);
          },
        };
      },
    };
  }
}
