// The database limits against a real PostgreSQL: a statement past DB_STATEMENT_TIMEOUT_MS, an
// exhausted pool and a database that is not there all end in SERVICE_UNAVAILABLE, in bounded time.
import { Writable } from 'node:stream';
import { GraphQLError } from 'graphql';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createOrm, type Orm } from './db';
import { databaseFault } from './database-faults';
import { formatError } from './errors';
import { createLogger } from './logger';
import { tcpRelay } from './testing/tcp-relay';

const logger = createLogger('kit-test', 'silent', new Writable({ write: (_c, _e, cb) => cb() }));
const orms: Orm[] = [];

async function orm(url: string, limits: Parameters<typeof createOrm>[0]['limits']): Promise<Orm> {
  const created = await createOrm({ url, schema: 'public', entities: [], migrationsPath: '/nonexistent', migrations: [], logger, limits });
  orms.push(created);
  return created;
}

/** What a client would be sent for `error` thrown in a resolver. */
function asClientSees(error: unknown) {
  const wrapped = new GraphQLError(error instanceof Error ? error.message : String(error), { originalError: error as Error });
  return formatError({ message: wrapped.message, extensions: {} }, wrapped);
}

async function failure(work: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await work;
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
  throw new Error('expected the work to fail');
}

afterAll(async () => {
  await Promise.all(orms.map((o) => o.close(true)));
});

describe('database limits', () => {
  it('cancels a statement past DB_STATEMENT_TIMEOUT_MS: SERVICE_UNAVAILABLE, DATABASE_TIMEOUT, no SQL in the message', async () => {
    const db = await orm(inject('adminDatabaseUrl'), { statementTimeoutMs: 300 });
    const { error, ms } = await failure(db.em.getConnection().execute('select pg_sleep(5)'));
    expect(databaseFault(error)).toBe('DATABASE_TIMEOUT');
    expect(ms).toBeLessThan(3_000);
    const sent = asClientSees(error);
    expect(sent).toEqual({ message: 'The database took too long to answer; try again shortly', extensions: { code: 'SERVICE_UNAVAILABLE', reason: 'DATABASE_TIMEOUT' } });
    // The connection is fine afterwards: only the statement was cancelled.
    expect(await db.em.getConnection().execute('select 1 as one')).toEqual([{ one: 1 }]);
  });

  it('refuses a request that waits past DB_ACQUIRE_TIMEOUT_MS for a connection of a full pool (DB_POOL_MAX)', async () => {
    const db = await orm(inject('adminDatabaseUrl'), { poolMax: 1, acquireTimeoutMs: 400 });
    const holder = db.em.getConnection().execute('select pg_sleep(2)');
    const { error, ms } = await failure(db.em.getConnection().execute('select 1'));
    expect(databaseFault(error)).toBe('DATABASE_UNAVAILABLE');
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(ms).toBeLessThan(2_000);
    expect(asClientSees(error).extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', reason: 'DATABASE_UNAVAILABLE' });
    await holder;
  });

  it('answers at once, while the database is gone, and recovers by itself when it is back', async () => {
    const relay = await tcpRelay(inject('adminDatabaseUrl'));
    try {
      const db = await orm(relay.url, { acquireTimeoutMs: 5_000 });
      expect(await db.em.getConnection().execute('select 1 as one')).toEqual([{ one: 1 }]);
      await relay.cut();
      const { error, ms } = await failure(db.em.getConnection().execute('select 1'));
      expect(databaseFault(error)).toBe('DATABASE_UNAVAILABLE');
      expect(ms).toBeLessThan(2_000);
      // The pooled connection died with the first; the next one cannot even be opened.
      const again = await failure(db.em.getConnection().execute('select 1'));
      expect(databaseFault(again.error)).toBe('DATABASE_UNAVAILABLE');
      expect(again.ms).toBeLessThan(2_000);
      await relay.restore();
      expect(await db.em.getConnection().execute('select 2 as two')).toEqual([{ two: 2 }]);
    } finally {
      await relay.cut();
    }
  });

  it('gives up on a database that takes the connection and never answers after DB_CONNECT_TIMEOUT_MS', async () => {
    const relay = await tcpRelay(inject('adminDatabaseUrl'));
    try {
      const db = await orm(relay.url, { connectTimeoutMs: 300, acquireTimeoutMs: 5_000 });
      await db.em.getConnection().execute('select 1');
      relay.hang();
      const { error, ms } = await failure(db.em.getConnection().execute('select 1'));
      expect(databaseFault(error)).toBe('DATABASE_UNAVAILABLE');
      expect(ms).toBeLessThan(2_000);
    } finally {
      await relay.cut();
    }
  });

  it('leaves other errors alone: a syntax error stays an internal error', async () => {
    const db = await orm(inject('adminDatabaseUrl'), {});
    const { error } = await failure(db.em.getConnection().execute('selec 1'));
    expect(databaseFault(error)).toBeUndefined();
    expect(asClientSees(error)).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });
});
