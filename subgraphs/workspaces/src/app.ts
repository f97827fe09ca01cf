// Wires the workspaces subgraph from its parts; main.ts and the integration tests both use it.
import type { AuditEventInput } from '@citadel/kit/audit-event';
import type { Caller } from '@citadel/kit/auth';
import { databaseReady, type Orm } from '@citadel/kit/db';
import { sendJson } from '@citadel/kit/http';
import type { SigningKey } from '@citadel/kit/keys';
import type { Logger } from '@citadel/kit/logger';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Outbox, OutboxRelay } from '@citadel/kit/outbox';
import type { PubSub } from '@citadel/kit/pubsub';
import { createServiceServer, type ServiceServer } from '@citadel/kit/server';
import { createSubgraphEndpoint } from '@citadel/kit/subgraph';
import type { SubgraphSubscriptions } from '@citadel/kit/subgraph-subscriptions';
import { GrantMirror, type ScopedGrantSink } from './grant-mirror';
import { buildWorkspacesSchema, SUBGRAPH_NAME } from './schema';
import { TodoEventHub } from './todos/todo-event-hub';
import { TodoEventService } from './todos/todo-event.service';
import { TodoService } from './todos/todo.service';
import type { LookupUserByEmail } from './users/user-directory';
import { extendContext } from './workspaces.context';
import { WorkspaceService } from './workspaces/workspace.service';

export interface WorkspacesAppOptions {
  orm: Orm;
  logger: Logger;
  pubsub: PubSub;
  introspection: boolean;
  verifyInternalToken: (authorization: string | undefined) => Promise<Caller>;
  /** workspaces' own key: its JWKS, and its service tokens to authz and audit. */
  key: SigningKey;
  /** Where memberships are mirrored as scoped grants: the AuthzClient in production. */
  grants: ScopedGrantSink;
  /** Hands a batch of outbox events to audit (auditDelivery); throws when not accepted. */
  deliverEvents: (events: AuditEventInput[]) => Promise<void>;
  outboxPollMs?: number;
  /** Failed deliveries before an event is parked as dead (default 10). */
  outboxMaxAttempts?: number;
  /** Events a todoEvents subscription may have waiting before it is ended (default 1,000). */
  maxQueuedEvents?: number;
  /** First retry delay of a grant mirror call authz did not accept (default 250 ms; doubles up to 30 s). */
  grantRetryMs?: number;
  /** How often the grant mirror looks for staged changes nobody kicked it for (default `outboxPollMs`, else 1 s). */
  grantPollMs?: number;
  /** Which account holds an email address (identity's /internal/users/lookup): addMember by email. */
  lookupUserByEmail: LookupUserByEmail;
  /** createTodo idempotency keys older than this count as new and are purged (default 24 h). */
  idempotencyKeyTtlMs?: number;
  /** How often expired idempotency keys are purged (default: the TTL, at most hourly). */
  idempotencyPurgeMs?: number;
  /**
   * Whether the permission catalogue is registered with authz: until it is, the scoped roles
   * memberships are mirrored to do not exist there, so the service does not call itself ready.
   */
  catalogueRegistered?: () => boolean;
}

export interface WorkspacesApp {
  server: ServiceServer;
  workspaces: WorkspaceService;
  todos: TodoService;
  mirror: GrantMirror;
  relay: OutboxRelay;
  /** graphql-ws on /graphql, for the gateway's subscriptions. */
  subscriptions: SubgraphSubscriptions;
  /** The fan-out of live todo events (its `stats` show what is held). */
  todoEvents: TodoEventHub;
}

export async function createWorkspacesApp(options: WorkspacesAppOptions): Promise<WorkspacesApp> {
  const { orm, logger } = options;
  const outbox = new Outbox(SUBGRAPH_NAME);
  const mirror = new GrantMirror({ orm, sink: options.grants, logger, retryBaseMs: options.grantRetryMs, pollMs: options.grantPollMs ?? options.outboxPollMs });
  const workspaces = new WorkspaceService(outbox, mirror, options.lookupUserByEmail);
  const keyTtlMs = options.idempotencyKeyTtlMs ?? 24 * 3_600_000;
  const todos = new TodoService(outbox, keyTtlMs);
  const purge = new IdempotencyKeyPurge(() => todos.purgeExpiredKeys(orm.em.fork() as EntityManager), options.idempotencyPurgeMs ?? Math.min(keyTtlMs, 3_600_000), logger);
  const relay = new OutboxRelay({ orm, schema: SUBGRAPH_NAME, logger, deliver: options.deliverEvents, pubsub: options.pubsub, pollMs: options.outboxPollMs ?? 1_000, maxAttempts: options.outboxMaxAttempts ?? 10 });
  const todoEvents = new TodoEventHub({ pubsub: options.pubsub, logger, maxQueue: options.maxQueuedEvents });
  const schema = await buildWorkspacesSchema({ workspaces, todos, todoEvents: new TodoEventService(todoEvents), relay: () => relay });
  const endpoint = await createSubgraphEndpoint({
    schema,
    orm,
    logger,
    introspection: options.introspection,
    verifyInternalToken: options.verifyInternalToken,
    extendContext,
  });
  const server = createServiceServer({
    service: SUBGRAPH_NAME,
    logger,
    routes: { '/graphql': endpoint.route, '/.well-known/jwks.json': (_req, res) => sendJson(res, 200, options.key.jwks) },
    ready: async () => (options.catalogueRegistered?.() ?? true) && (await databaseReady(orm)),
    // Open sockets would hold the drain until its timeout: close them first.
    beforeDrain: () => subscriptions.close(),
    onClose: async () => {
      await endpoint.stop();
      await todoEvents.close();
      await purge.stop();
      await relay.stop();
      await mirror.stop();
      await options.pubsub.close();
      await orm.close();
    },
  });
  const subscriptions = endpoint.serveSubscriptions(server);
  relay.useMetrics(server.metrics.registry);
  relay.start();
  mirror.start();
  purge.start();
  return { server, workspaces, todos, mirror, relay, subscriptions, todoEvents };
}

/** Deletes expired idempotency keys on a timer (unref'd: it never holds the process open). */
class IdempotencyKeyPurge {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly purge: () => Promise<number>,
    private readonly everyMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.purge().then(
        (n) => n > 0 && this.logger.debug({ purged: n }, 'expired idempotency keys purged'),
        (error: unknown) => this.logger.warn({ err: error }, 'could not purge expired idempotency keys'),
      );
    }, this.everyMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a purge in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
