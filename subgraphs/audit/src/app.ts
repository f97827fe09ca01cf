// Wires the audit subgraph from its parts; main.ts and the integration tests both use it.
import type { Caller } from '@citadel/kit/auth';
import { databaseReady, type Orm } from '@citadel/kit/db';
import { sendJson } from '@citadel/kit/http';
import type { Logger } from '@citadel/kit/logger';
import type { PubSub } from '@citadel/kit/pubsub';
import { createServiceServer, type ServiceServer } from '@citadel/kit/server';
import { createSubgraphEndpoint } from '@citadel/kit/subgraph';
import type { SubgraphSubscriptions } from '@citadel/kit/subgraph-subscriptions';
import type { EntityManager } from '@mikro-orm/postgresql';
import { auditContext } from './audit.context';
import { ChainVerifier } from './chain/chain-verifier';
import type { CheckpointSigner } from './chain/checkpoint';
import { CheckpointService } from './chain/checkpoint.service';
import { EventQueryService } from './events/event-query.service';
import { IngestService } from './events/ingest.service';
import { RecordedEventFeed } from './events/recorded-feed';
import { internalRoutes } from './internal/internal.routes';
import { RetentionService, type RetentionSettings } from './retention/retention.service';
import { buildAuditSchema, SUBGRAPH_NAME } from './schema';

export interface AuditAppOptions {
  orm: Orm;
  logger: Logger;
  pubsub: PubSub;
  introspection: boolean;
  /** Signs checkpoints with audit's key (and checks those of retired keys). */
  signer: CheckpointSigner;
  /** CHECKPOINT_EVERY. */
  checkpointEvery: number;
  /** CHECKPOINT_SECONDS; the timer runs only when `timers` is on. */
  checkpointSeconds: number;
  retention: RetentionSettings;
  /** Checkpoint and retention timers; tests turn them off and call the services. Default on. */
  timers?: boolean;
  verifyInternalToken: (authorization: string | undefined) => Promise<Caller>;
  verifyServiceToken: (authorization: string | undefined) => Promise<string>;
}

export interface AuditApp {
  server: ServiceServer;
  ingest: IngestService;
  checkpoints: CheckpointService;
  verifier: ChainVerifier;
  events: EventQueryService;
  retention: RetentionService;
  /** The live feed behind auditEventRecorded (one pubsub handler for the process). */
  feed: RecordedEventFeed;
  /** graphql-ws on /graphql, for the gateway. */
  subscriptions: SubgraphSubscriptions;
}

/** Retention runs this long after start-up, then once a day. */
const RETENTION_FIRST_RUN_MS = 60_000;
const RETENTION_EVERY_MS = 86_400_000;

export async function createAuditApp(options: AuditAppOptions): Promise<AuditApp> {
  const { orm, logger, signer } = options;
  const checkpoints = new CheckpointService(signer, options.checkpointEvery);
  const ingest = new IngestService(checkpoints, options.pubsub, logger);
  const verifier = new ChainVerifier(signer, options.checkpointEvery);
  const events = new EventQueryService();
  const retention = new RetentionService(options.retention, verifier, ingest, logger);
  const feed = new RecordedEventFeed({ pubsub: options.pubsub, load: (ids) => events.byIds(orm.em.fork() as EntityManager, ids), logger });
  // Before serving: a subscription opened once the app is up sees every batch committed after it.
  // Keep this the first await, in the tick the caller created the pubsub: the kit's RedisPubSub
  // loses a first SUBSCRIBE sent while its connection is between connect and ready (ioredis sends
  // it at once, then its ready check fails in subscriber mode and the reconnect does not restore
  // it); sent before the connection opens, ioredis queues it until ready.
  await feed.start();
  const extendContext = auditContext(feed);
  const schema = await buildAuditSchema({ events, verifier });
  const endpoint = await createSubgraphEndpoint({
    schema,
    orm,
    logger,
    introspection: options.introspection,
    verifyInternalToken: options.verifyInternalToken,
    extendContext,
  });
  const internal = internalRoutes({
    orm,
    ingest,
    verifyServiceToken: options.verifyServiceToken,
    verifyGatewayToken: options.verifyInternalToken,
  });
  const timers = options.timers === false ? [] : startTimers(options, checkpoints, retention);
  const server = createServiceServer({
    service: SUBGRAPH_NAME,
    logger,
    routes: {
      '/graphql': endpoint.route,
      // Anyone may check a checkpoint's signature: the keys are public.
      '/.well-known/jwks.json': (_req, res) => sendJson(res, 200, signer.jwks),
      ...internal,
    },
    quietRoutes: ['/internal/events'],
    ready: () => databaseReady(orm),
    beforeDrain: () => subscriptions.close(),
    onClose: async () => {
      for (const timer of timers) clearInterval(timer);
      await endpoint.stop();
      await feed.stop();
      await options.pubsub.close();
      await orm.close();
    },
  });
  const subscriptions = endpoint.serveSubscriptions(server);
  return { server, ingest, checkpoints, verifier, events, retention, feed, subscriptions };
}

function startTimers(options: AuditAppOptions, checkpoints: CheckpointService, retention: RetentionService): NodeJS.Timeout[] {
  const { orm, logger } = options;
  const em = () => orm.em.fork() as EntityManager;
  let checkpointing = false;
  const checkpoint = setInterval(() => {
    if (checkpointing) return;
    checkpointing = true;
    checkpoints
      .checkpointNow(em())
      .catch((error: unknown) => logger.error({ err: error }, 'could not sign an audit checkpoint'))
      .finally(() => (checkpointing = false));
  }, options.checkpointSeconds * 1000);
  const timers = [checkpoint];
  if (options.retention.days > 0) {
    const runRetention = () => void retention.run(em()).catch((error: unknown) => logger.error({ err: error }, 'audit retention failed'));
    timers.push(setTimeout(runRetention, RETENTION_FIRST_RUN_MS), setInterval(runRetention, RETENTION_EVERY_MS));
  }
  for (const timer of timers) timer.unref();
  return timers;
}
