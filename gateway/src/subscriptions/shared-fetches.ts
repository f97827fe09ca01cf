// One event delivered to a thousand subscribers needs the same entity fetch a thousand times
// (`actor { name }` from identity). Identical fetches made while one is in flight, or within a
// moment after, share its answer. Identical means the same subgraph, operation and variables, and
// the same caller as the subgraph sees it: the user, session, permissions and policies in the
// internal token. For subgraphs listed as caller-independent (their entity fields depend on the
// caller only through @authenticated, @requiresScopes and @policy, which the gateway and the
// subgraph check), callers with the same permissions and policies share too: Apollo Router's
// `ignore_auth_context`, per subgraph and still keyed on the permission set.
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayContext } from '../context';

type Response = Awaited<ReturnType<GraphQLDataSource['process']>>;

interface Entry {
  response: Promise<Response>;
  /** When the shared answer stops being handed out (set once it arrived). */
  until: number;
}

export class SharedFetches {
  private readonly entries = new Map<string, Entry>();
  private lastSweep = 0;

  constructor(
    private readonly callerIndependent: ReadonlySet<string>,
    private readonly retainMs = 100,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The data source for `service`, answering identical fetches once. */
  wrap(service: string, source: GraphQLDataSource): GraphQLDataSource {
    return {
      process: (options) => {
        const key = this.key(service, options);
        if (key === undefined) return source.process(options);
        const now = Date.now();
        this.sweep(now);
        let entry = this.entries.get(key);
        if (!entry || entry.until < now) {
          const created: Entry = { response: source.process(options), until: Number.POSITIVE_INFINITY };
          this.entries.set(key, created);
          const settle = () => {
            created.until = Date.now() + this.retainMs;
          };
          created.response.then(settle, () => {
            // A failed fetch is not shared beyond those already waiting for it.
            if (this.entries.get(key) === created) this.entries.delete(key);
          });
          entry = created;
        }
        // Each consumer gets its own copy: the executor merges into what it is given.
        return entry.response.then((response) => structuredClone(response));
      },
    };
  }

  private key(service: string, options: GraphQLDataSourceProcessOptions): string | undefined {
    const context = options.context as Partial<GatewayContext> | undefined;
    const caller = context?.caller;
    if (!caller || typeof options.request.query !== 'string') return undefined;
    const who = this.callerIndependent.has(service)
      ? `${caller.userId ? 'user' : 'anonymous'}`
      : `${caller.userId ?? ''}|${caller.sessionId ?? ''}`;
    return `${service}\n${options.request.query}\n${JSON.stringify(options.request.variables ?? {})}\n${who}\n${caller.permissions.join(' ')}\n${caller.policies.join(' ')}`;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 1_000) return;
    this.lastSweep = now;
    for (const [key, entry] of this.entries) if (entry.until < now) this.entries.delete(key);
  }
}
