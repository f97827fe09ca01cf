// The chain's lock and its head: every append and every checkpoint happens under the lock, in one
// transaction, so sequence numbers are gap-free and each event links to the one committed before.
import type { EntityManager } from '@mikro-orm/postgresql';
import { CHAIN_LOCK, query, queryOne } from '../sql';
import { chainTimeSql, GENESIS_HASH } from './canonical';

export interface ChainHead {
  /** The last event's seq; 0 before the first event. */
  seq: number;
  hash: string;
  /** The database's clock, in the chain's time form: every replica records with one clock. */
  now: string;
  /** The seq of the last checkpoint; 0 before the first. */
  lastCheckpointSeq: number;
  /** Which of the ids asked about are stored already. */
  storedIds: Set<string>;
}

/** Takes the chain lock for the rest of the transaction `tx`. */
export async function lockChain(tx: EntityManager): Promise<void> {
  await query(tx, 'select pg_advisory_xact_lock(hashtext(?))', [CHAIN_LOCK]);
}

/**
 * Read under the chain lock, in one statement: the last event (or, when retention removed every
 * event, the checkpoint that covered the last of them, which retention always keeps), the last
 * checkpoint, and which of `ids` are stored already.
 */
export async function readHead(tx: EntityManager, ids: readonly string[] = []): Promise<ChainHead> {
  const row = await queryOne<{ seq: string | null; hash: string | null; now: string; checkpoint: string | null; stored: string[] | null }>(
    tx,
    `with "head" as (
       (select "seq", "hash" from "audit"."events" order by "seq" desc limit 1)
       union all
       (select "seq", "hash" from "audit"."checkpoints" order by "seq" desc limit 1)
       order by "seq" desc limit 1
     )
     select
       (select "seq" from "head") as "seq",
       (select "hash" from "head") as "hash",
       ${chainTimeSql('clock_timestamp()')} as "now",
       (select max("seq") from "audit"."checkpoints") as "checkpoint",
       (select array_agg("id"::text) from "audit"."events" where "id" = any(?::uuid[])) as "stored"`,
    // A Postgres array literal: the ids are UUIDs (validated at ingestion), nothing to escape.
    [`{${ids.join(',')}}`],
  );
  if (!row) throw new Error('readHead: no row');
  return {
    seq: Number(row.seq ?? 0),
    hash: row.hash ?? GENESIS_HASH,
    now: row.now,
    lastCheckpointSeq: Number(row.checkpoint ?? 0),
    storedIds: new Set(row.stored ?? []),
  };
}
