// The transactional outbox: a change and the event describing it are written in one transaction
// (the event is an entity flushed with the change), and a relay delivers the events afterwards,
// so no event is lost when audit is down and none is sent for a change that rolled back.
import { randomUUID } from 'node:crypto';
import { EntitySchema, type EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Caller, ClientInfo } from './auth';
import { ACTION_PATTERN, redact, type AuditEventInput, type Outcome } from './audit-event';
import type { Orm } from './db';
import { logPassFailure } from './database-faults';
import type { PubSub } from './pubsub';
import { currentRequest } from './request-context';

export class OutboxEntry {
  id!: string;
  event!: AuditEventInput;
  createdAt: Date = new Date();
  publishedAt: Date | null = null;
  attempts = 0;
  nextAttemptAt: Date = new Date();
  lastError: string | null = null;
  deadAt: Date | null = null;
}

/** Add to a subgraph's entities; its migration creates the table with `outboxTableSql`. */
export const OutboxEntrySchema = new EntitySchema<OutboxEntry>({
  class: OutboxEntry,
  tableName: 'outbox',
  properties: {
    id: { type: 'uuid', primary: true },
    event: { type: 'json' },
    createdAt: { type: 'Date', defaultRaw: 'now()' },
    publishedAt: { type: 'Date', nullable: true },
    attempts: { type: 'integer', default: 0 },
    nextAttemptAt: { type: 'Date', defaultRaw: 'now()' },
    lastError: { type: 'string', length: 500, nullable: true },
    deadAt: { type: 'Date', nullable: true },
  },
});

/** The outbox table of a subgraph's schema, for its migration. */
export function outboxTableSql(schema: string): string[] {
  return [
    `create table "${schema}"."outbox" (
      "id" uuid primary key,
      "event" jsonb not null,
      "created_at" timestamptz not null default now(),
      "published_at" timestamptz null,
      "attempts" int not null default 0,
      "next_attempt_at" timestamptz not null default now(),
      "last_error" varchar(500) null,
      "dead_at" timestamptz null
    );`,
    `create index "outbox_due_index" on "${schema}"."outbox" ("next_attempt_at", "created_at") where "dead_at" is null;`,
  ];
}

/** Who did it and from where: what every event of a request shares. */
export interface EventContext {
  caller: Pick<Caller, 'userId' | 'sessionId'>;
  client: ClientInfo;
  requestId: string | null;
  operationName?: string | null;
  traceId?: string | null;
}

export interface EventDetails {
  action: string;
  target?: { type: string; id: string | null } | null;
  outcome?: Outcome;
  reason?: string | null;
  changes?: { before?: Record<string, unknown> | null; after?: Record<string, unknown> | null } | null;
  /** Overrides the actor (e.g. a failed login: anonymous, or the account tried). */
  actor?: AuditEventInput['actor'];
}

/** What an event says when it is not made during a request: the service itself acted. */
const NO_REQUEST: EventContext = { caller: { userId: null, sessionId: null }, client: { ip: null, userAgent: null }, requestId: null };

/**
 * Builds events for one service and stages them in the outbox of the entity manager given. The
 * actor, client and request ids come from the current request (`runInRequest`).
 */
export class Outbox {
  constructor(private readonly service: string) {}

  event(details: EventDetails, context: EventContext = currentRequest() ?? NO_REQUEST): AuditEventInput {
    // Audit refuses other shapes; failing here names the code at fault instead of parking the event.
    if (!ACTION_PATTERN.test(details.action) || !details.action.startsWith(`${this.service}.`)) {
      throw new Error(`Audit action "${details.action}" is not ${this.service}.<resource>.<verb> (lower case, digits, hyphens)`);
    }
    const inRequest = context !== NO_REQUEST;
    const { caller } = context;
    return {
      id: randomUUID(),
      occurredAt: new Date().toISOString(),
      service: this.service,
      actor: details.actor ?? {
        type: caller.userId ? 'user' : inRequest ? 'anonymous' : 'service',
        id: caller.userId ?? (inRequest ? null : this.service),
        sessionId: caller.sessionId,
      },
      action: details.action,
      target: details.target ?? null,
      outcome: details.outcome ?? 'success',
      reason: details.reason ?? null,
      ip: context.client.ip,
      userAgent: context.client.userAgent,
      requestId: context.requestId,
      traceId: context.traceId ?? null,
      operationName: context.operationName ?? null,
      changes: details.changes ? redact({ before: details.changes.before ?? null, after: details.changes.after ?? null }) : null,
    };
  }

  /**
   * Stages the event: it is written by the entity manager's next flush, in the same transaction
   * as the change it describes. Flush yourself when there is no other change.
   */
  add(em: EntityManager, details: EventDetails): AuditEventInput {
    const event = this.event(details);
    em.persist(Object.assign(new OutboxEntry(), { id: event.id, event }));
    return event;
  }
}

export interface OutboxRelayOptions {
  orm: Orm;
  /** The subgraph's Postgres schema holding its `outbox` table. */
  schema: string;
  logger: Logger;
  /** Sends a batch to audit; throws when it was not accepted. */
  deliver: (events: AuditEventInput[]) => Promise<void>;
  /** Live listeners (subscriptions) hear of each event once, after commit, before audit does. */
  pubsub?: PubSub;
  batchSize?: number;
  pollMs?: number;
  /** Refused deliveries (DeliveryRejected) before an event is parked as dead; outages never park. */
  maxAttempts?: number;
}

export const EVENTS_CHANNEL = 'events';

/**
 * Audit refused the batch as it is (400, 403, 413): retrying the same batch cannot succeed. Only
 * such refusals count toward parking an event as dead; an outage (network error, 5xx) is retried
 * for as long as it lasts, so a long audit downtime loses nothing and needs no operator.
 */
export class DeliveryRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryRejected';
  }
}

interface Row {
  id: string;
  event: AuditEventInput;
  created_at: Date;
  published_at: Date | null;
  attempts: number;
}

/**
 * Delivers staged events. Several replicas can run it: rows are claimed with FOR UPDATE SKIP
 * LOCKED, so each batch goes out once. A failed batch is retried with exponential backoff and,
 * after `maxAttempts`, parked as dead (counted in a metric, listed and retried by an operator).
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private again = false;
  private stopped = false;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly maxAttempts: number;
  private delivered: Counter<'service'> | undefined;
  private failures: Counter<'service'> | undefined;
  private lag: Histogram<'service'> | undefined;
  private dead: Gauge<'service'> | undefined;

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 200;
    this.pollMs = options.pollMs ?? 1_000;
    this.maxAttempts = options.maxAttempts ?? 10;
  }

  /** Exposes delivery counts, lag and dead events on the service's /metrics. */
  useMetrics(registry: Registry): void {
    const registers = [registry];
    this.delivered = new Counter({ name: 'citadel_outbox_delivered_total', help: 'Events delivered to audit', labelNames: ['service'], registers });
    this.failures = new Counter({ name: 'citadel_outbox_delivery_failures_total', help: 'Batches audit did not accept', labelNames: ['service'], registers });
    this.lag = new Histogram({
      name: 'citadel_outbox_delivery_lag_seconds',
      help: 'From an event committed to audit accepting it',
      labelNames: ['service'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.dead = new Gauge({ name: 'citadel_outbox_dead_events', help: 'Events parked after too many failed deliveries', labelNames: ['service'], registers });
  }

  start(): void {
    // A commit that wrote outbox rows starts a pass at once: delivery lag is the pass, not the poll.
    // A flush inside an outer transaction is not committed yet, so that transaction's commit kicks
    // too. Tracked per transaction: with one flag for the process, another transaction's commit
    // (this relay's own pass, for one) could clear it between a flush and its commit, leaving the
    // event to the poll.
    const staged = new WeakSet<object>();
    this.options.orm.em.getEventManager().registerSubscriber({
      afterFlush: (args) => {
        if (!args.uow.getChangeSets().some((set) => set.entity instanceof OutboxEntry)) return;
        const transaction = args.em.getTransactionContext<object>();
        if (transaction) staged.add(transaction);
        setImmediate(() => this.kick());
      },
      afterTransactionCommit: (args) => {
        if (!args.transaction || !staged.has(args.transaction)) return;
        staged.delete(args.transaction);
        setImmediate(() => this.kick());
      },
    });
    const tick = () => {
      this.kick();
      this.timer = setTimeout(tick, this.pollMs);
      this.timer.unref();
    };
    tick();
  }

  /** Runs a delivery pass soon (after a commit that staged events); passes never overlap. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * Waits until everything due is delivered, including a pass already running (a pass started by
   * a commit holds its rows, which a concurrent drain would skip). For tests and shutdown.
   */
  async settle(): Promise<void> {
    for (let round = 0; round < 20; round++) {
      await this.running;
      const sent = await this.drain();
      if (sent === 0 && !this.running) return;
    }
  }

  /** Delivers until nothing is due; returns how many events went out. */
  async drain(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const sent = await this.pass();
        total += sent;
        if (sent < this.batchSize) break;
      }
      await this.countDead();
    } catch (error) {
      logPassFailure(this.options.logger, error, 'outbox relay pass failed');
    }
    return total;
  }

  private async pass(): Promise<number> {
    const table = `"${this.options.schema}"."outbox"`;
    const em = this.options.orm.em.fork() as EntityManager;
    return em.transactional(async (tx) => {
      const rows = await tx.execute<Row[]>(
        `select "id", "event", "created_at", "published_at", "attempts" from ${table}
          where "dead_at" is null and "next_attempt_at" <= now()
          order by "created_at", "id" limit ? for update skip locked`,
        [this.batchSize],
      );
      if (rows.length === 0) return 0;
      await this.publish(tx, table, rows);
      try {
        await this.options.deliver(rows.map((r) => r.event));
      } catch (error) {
        // One refused event must not take the rest of its batch down with it: send them one by one.
        if (error instanceof DeliveryRejected && rows.length > 1) return this.oneByOne(tx, table, rows);
        await this.failed(tx, table, rows, error);
        return 0;
      }
      await this.markDelivered(tx, table, rows);
      return rows.length;
    });
  }

  private async oneByOne(tx: EntityManager, table: string, rows: Row[]): Promise<number> {
    let sent = 0;
    for (const row of rows) {
      try {
        await this.options.deliver([row.event]);
      } catch (error) {
        await this.failed(tx, table, [row], error);
        continue;
      }
      await this.markDelivered(tx, table, [row]);
      sent++;
    }
    return sent;
  }

  private async markDelivered(tx: EntityManager, table: string, rows: Row[]): Promise<void> {
    await tx.execute(`delete from ${table} where "id" in (${rows.map(() => '?').join(', ')})`, rows.map((r) => r.id));
    const now = Date.now();
    this.delivered?.inc({ service: this.options.schema }, rows.length);
    for (const row of rows) this.lag?.observe({ service: this.options.schema }, (now - new Date(row.created_at).getTime()) / 1000);
  }

  /** Each event reaches pubsub once, even if audit is down and delivery is retried. */
  private async publish(tx: EntityManager, table: string, rows: Row[]): Promise<void> {
    const pubsub = this.options.pubsub;
    const fresh = rows.filter((r) => r.published_at === null);
    if (!pubsub || fresh.length === 0) return;
    // In parallel and bounded: an unreachable Redis must not hold the claimed rows for long. Only
    // what was published is marked, so the rest is published on the next pass.
    const results = await Promise.allSettled(
      fresh.map((row) => withTimeout(pubsub.publish(`${EVENTS_CHANNEL}.${row.event.action}`, row.event), PUBLISH_TIMEOUT_MS)),
    );
    const published = fresh.filter((_, i) => results[i]!.status === 'fulfilled');
    if (published.length < fresh.length) {
      this.options.logger.warn({ failed: fresh.length - published.length }, 'could not publish events; will publish them on the next pass');
    }
    if (published.length === 0) return;
    await tx.execute(`update ${table} set "published_at" = now() where "id" in (${published.map(() => '?').join(', ')})`, published.map((r) => r.id));
  }

  private async failed(tx: EntityManager, table: string, rows: Row[], error: unknown): Promise<void> {
    this.failures?.inc({ service: this.options.schema });
    const attempts = (rows[0]?.attempts ?? 0) + 1;
    const delayMs = Math.min(60_000, 500 * 2 ** Math.min(attempts - 1, 10));
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 500);
    const rejected = error instanceof DeliveryRejected;
    const log = rejected || attempts >= 3 ? this.options.logger.warn : this.options.logger.debug;
    log.call(this.options.logger, { err: error, events: rows.length, attempts, rejected }, 'audit did not accept events; will retry');
    await tx.execute(
      `update ${table} set "attempts" = "attempts" + 1, "last_error" = ?,
         "next_attempt_at" = now() + (? * interval '1 millisecond'),
         "dead_at" = case when ? and "attempts" + 1 >= ? then now() else null end
       where "id" in (${rows.map(() => '?').join(', ')})`,
      [message, delayMs, rejected, this.maxAttempts, ...rows.map((r) => r.id)],
    );
  }

  private async countDead(): Promise<void> {
    if (!this.dead) return;
    const em = this.options.orm.em.fork() as EntityManager;
    const [row] = await em.execute<{ n: number }[]>(`select count(*)::int as "n" from "${this.options.schema}"."outbox" where "dead_at" is not null`);
    this.dead.set({ service: this.options.schema }, row?.n ?? 0);
  }

  /** Dead events, oldest first, for an operator. */
  async deadEvents(limit = 100): Promise<{ id: string; event: AuditEventInput; attempts: number; lastError: string | null; deadAt: Date }[]> {
    const em = this.options.orm.em.fork() as EntityManager;
    const rows = await em.execute<{ id: string; event: AuditEventInput; attempts: number; last_error: string | null; dead_at: Date }[]>(
      `select "id", "event", "attempts", "last_error", "dead_at" from "${this.options.schema}"."outbox"
        where "dead_at" is not null order by "created_at", "id" limit ?`,
      [limit],
    );
    return rows.map((r) => ({ id: r.id, event: r.event, attempts: r.attempts, lastError: r.last_error, deadAt: r.dead_at }));
  }

  /** Puts dead events back in line (all, or the ids given); returns how many. */
  async retryDead(ids?: string[]): Promise<number> {
    const em = this.options.orm.em.fork() as EntityManager;
    const where = ids && ids.length > 0 ? `and "id" in (${ids.map(() => '?').join(', ')})` : '';
    const rows = await em.execute<{ id: string }[]>(
      `update "${this.options.schema}"."outbox" set "dead_at" = null, "attempts" = 0, "next_attempt_at" = now()
        where "dead_at" is not null ${where} returning "id"`,
      ids ?? [],
    );
    this.kick();
    return rows.length;
  }
}

const PUBLISH_TIMEOUT_MS = 2_000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
