// Mirrors memberships into authz as scoped grants (`workspace-owner` in `workspace:<id>`), durably:
// each membership change stages its grant/revoke operations in `grant_mirror` in its own transaction,
// and this relay applies them to authz in order until accepted, across outages and restarts. This
// subgraph decides from its own members table, so authz being slow or down delays only what other
// services see; requests here never wait for it.
import type { ScopedGrant } from '@citadel/kit/authz-client';
import type { Orm } from '@citadel/kit/db';
import { logPassFailure } from '@citadel/kit/database-faults';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';

/** What the mirror needs from authz: AuthzClient in production, a recorder in tests. */
export interface ScopedGrantSink {
  setGrants(changes: { grant?: ScopedGrant[]; revoke?: ScopedGrant[] }): Promise<void>;
}

export interface GrantChanges {
  grant?: ScopedGrant[];
  revoke?: ScopedGrant[];
}

export interface GrantMirrorOptions {
  orm: Orm;
  sink: ScopedGrantSink;
  logger: Logger;
  /** First retry delay after authz refused or was unreachable; doubles up to `maxRetryMs`. */
  retryBaseMs?: number;
  maxRetryMs?: number;
  /** How often to look for staged changes nobody kicked the relay for (another node's, or after a restart). */
  pollMs?: number;
}

const TABLE = '"workspaces"."grant_mirror"';
const BATCH = 50;
// One relay at a time across replicas, so changes reach authz in the order they committed
// (FOR UPDATE SKIP LOCKED alone would let a second replica send later rows past a locked head).
const LOCK_KEY = 'workspaces.grant_mirror';

type PassResult = 'empty' | 'failed' | 'busy' | 'waiting' | number;

interface Row {
  seq: string;
  changes: GrantChanges;
  attempts: number;
  due: boolean;
}

export class GrantMirror {
  private chain: Promise<unknown> = Promise.resolve();
  private kickQueued = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly retryBaseMs: number;
  private readonly maxRetryMs: number;

  constructor(private readonly options: GrantMirrorOptions) {
    this.retryBaseMs = options.retryBaseMs ?? 250;
    this.maxRetryMs = options.maxRetryMs ?? 30_000;
  }

  /** Stages the changes in the caller's transaction; call `kick()` once it committed. */
  async stage(tx: EntityManager, changes: GrantChanges): Promise<void> {
    if (!changes.grant?.length && !changes.revoke?.length) return;
    await tx.execute(`insert into ${TABLE} ("changes") values (?::jsonb)`, [JSON.stringify({ grant: changes.grant ?? [], revoke: changes.revoke ?? [] })]);
  }

  start(): void {
    const tick = () => {
      this.kick();
      this.timer = setTimeout(tick, this.options.pollMs ?? 1_000);
      this.timer.unref();
    };
    tick();
  }

  /** Runs a pass soon (after a commit that staged changes); passes in this process never overlap. */
  kick(): void {
    if (this.stopped || this.kickQueued) return;
    this.kickQueued = true;
    this.enqueue(async () => {
      this.kickQueued = false;
      await this.drain(false);
    });
  }

  /**
   * Resolves once everything staged so far was applied, or authz refused the oldest change (it stays
   * staged and is retried). Ignores the retry backoff. For tests and shutdown.
   */
  settled(): Promise<void> {
    return this.enqueue(async () => {
      for (let round = 0; round < 100; round++) {
        const result = await this.drain(true);
        if (result !== 'busy') return;
        // Another node holds the relay lock: wait for it to finish its pass.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
  }

  /** Stops polling and waits for a pass in progress; what is staged stays for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.chain;
  }

  /** Changes staged and not yet accepted by authz (a metric-style count for operators and tests). */
  async pending(): Promise<number> {
    const [row] = await (this.options.orm.em.fork() as EntityManager).execute<{ n: number }[]>(`select count(*)::int as "n" from ${TABLE}`);
    return row?.n ?? 0;
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async drain(ignoreBackoff: boolean): Promise<PassResult> {
    try {
      for (;;) {
        const result = await this.pass(ignoreBackoff);
        if (typeof result !== 'number' || result < BATCH) return result;
      }
    } catch (error) {
      logPassFailure(this.options.logger, error, 'grant mirror pass failed');
      return 'failed';
    }
  }

  private async pass(ignoreBackoff: boolean): Promise<PassResult> {
    const em = this.options.orm.em.fork() as EntityManager;
    return em.transactional(async (tx) => {
      const [lock] = await tx.execute<{ locked: boolean }[]>(`select pg_try_advisory_xact_lock(hashtext(?)) as "locked"`, [LOCK_KEY]);
      if (!lock?.locked) return 'busy';
      const rows = await tx.execute<Row[]>(
        `select "seq", "changes", "attempts", "next_attempt_at" <= now() as "due" from ${TABLE}
          order by "seq" limit ? for update skip locked`,
        [BATCH],
      );
      if (rows.length === 0) return 'empty';
      // Strictly in order: a later change never overtakes one authz has not accepted yet.
      if (!ignoreBackoff && !rows[0]!.due) return 'waiting';
      let sent = 0;
      for (const row of rows) {
        try {
          await this.options.sink.setGrants(row.changes);
        } catch (error) {
          await this.failed(tx, row, error);
          break;
        }
        await tx.execute(`delete from ${TABLE} where "seq" = ?`, [row.seq]);
        sent++;
      }
      return sent === 0 ? 'failed' : sent;
    });
  }

  private async failed(tx: EntityManager, row: Row, error: unknown): Promise<void> {
    const attempts = row.attempts + 1;
    const delayMs = Math.min(this.maxRetryMs, this.retryBaseMs * 2 ** Math.min(attempts - 1, 16));
    const log = attempts >= 3 ? this.options.logger.warn : this.options.logger.debug;
    log.call(this.options.logger, { err: error, attempts }, 'authz did not accept workspace memberships yet; will retry');
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 500);
    await tx.execute(
      `update ${TABLE} set "attempts" = ?, "last_error" = ?, "next_attempt_at" = now() + (? * interval '1 millisecond') where "seq" = ?`,
      [attempts, message, delayMs, row.seq],
    );
  }
}
