// Hand-written SQL with bound parameters, on the entity manager's connection or its transaction.
// Audit reads and writes its two tables only this way: the hash covers the exact stored values
// (times to the microsecond, jsonb as stored), which an ORM mapping would round.
import type { EntityManager, Knex } from '@mikro-orm/postgresql';

/** Rows of one statement; `?` marks a parameter (bound by the driver, never spliced into the text). */
export async function query<T>(em: EntityManager, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  const statement = em.getKnex().raw(sql, params as Knex.RawBinding[]);
  const transaction = em.getTransactionContext<Knex.Transaction>();
  if (transaction) statement.transacting(transaction);
  const result = (await statement) as { rows: T[] };
  return result.rows;
}

/** The first row, or undefined. */
export async function queryOne<T>(em: EntityManager, sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
  return (await query<T>(em, sql, params))[0];
}

/** The key of the transaction-scoped advisory lock that orders every append to the chain. */
export const CHAIN_LOCK = 'audit.chain';
/** Held by a retention run, so two replicas never prune at once. */
export const RETENTION_LOCK = 'audit.retention';
