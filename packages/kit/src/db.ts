// MikroORM per subgraph: its own Postgres schema, its own migrations folder, a fork per request.
import { Migrator, type Migration } from '@mikro-orm/migrations';
import { MikroORM, type EntitySchema, type Options } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { z } from './env';

/**
 * Every subgraph's database settings (spread into its env.ts). The timeouts bound how long a request
 * can wait on the database, so a database that is down, restarting or overloaded answers
 * SERVICE_UNAVAILABLE in seconds instead of holding requests until the gateway gives up.
 */
export const databaseSettings = {
  /** Most connections one service process opens. */
  DB_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
  /** How long a request waits for a pooled connection (pool exhausted, or the database not there), ms. */
  DB_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  /** How long opening a connection may take, ms. */
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  /** PostgreSQL's statement_timeout for every statement the service runs, ms; 0: none. */
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(86_400_000).default(15_000),
};

export interface DatabaseLimits {
  poolMax: number;
  acquireTimeoutMs: number;
  connectTimeoutMs: number;
  /** 0: no statement timeout (migrations). */
  statementTimeoutMs: number;
}

/** The limits of `databaseSettings` as parsed into a service's env. */
export const databaseLimits = (env: { [K in keyof typeof databaseSettings]: number }): DatabaseLimits => ({
  poolMax: env.DB_POOL_MAX,
  acquireTimeoutMs: env.DB_ACQUIRE_TIMEOUT_MS,
  connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
  statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
});

export type Orm = MikroORM;

export interface OrmOptions {
  /** Postgres connection URL. */
  url: string;
  /** The subgraph's own Postgres schema, e.g. `identity`. No subgraph reads another's. */
  schema: string;
  entities: EntitySchema<any, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Absolute path of `migrations/<subgraph>` (where new migrations are written). */
  migrationsPath: string;
  /** The subgraph's migrations in order, from `migrations/<subgraph>/index.ts`. */
  migrations: { name: string; class: new (...args: never[]) => Migration }[];
  logger: Logger;
  /** Pool size and timeouts (a service's DB_* settings); without them the driver's defaults apply, 10 connections. */
  limits?: Partial<DatabaseLimits>;
}

export async function createOrm(options: OrmOptions): Promise<Orm> {
  const limits = options.limits ?? {};
  const config: Options = {
    clientUrl: options.url,
    schema: options.schema,
    entities: options.entities,
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    migrations: {
      path: options.migrationsPath,
      pathTs: options.migrationsPath,
      migrationsList: options.migrations as never,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    pool: { min: 0, max: limits.poolMax ?? 10, ...(limits.acquireTimeoutMs ? { acquireTimeoutMillis: limits.acquireTimeoutMs } : {}) },
    driverOptions: {
      connection: {
        // Dead peers (a restarted database behind a NAT, a cut link) are noticed instead of waited on.
        keepAlive: true,
        ...(limits.connectTimeoutMs ? { connectionTimeoutMillis: limits.connectTimeoutMs } : {}),
        ...(limits.statementTimeoutMs ? { statement_timeout: limits.statementTimeoutMs } : {}),
      },
    },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: false,
    logger: (message) => options.logger.debug({ orm: true }, message),
  };
  return MikroORM.init(config);
}

/** Creates the subgraph's schema when missing, then applies pending migrations in one transaction. */
export async function migrate(orm: Orm, schema: string): Promise<string[]> {
  await orm.em.getConnection().execute(`create schema if not exists "${schema.replace(/"/g, '')}"`);
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}

export async function databaseReady(orm: Orm): Promise<boolean> {
  try {
    await orm.em.getConnection().execute('select 1');
    return true;
  } catch {
    return false;
  }
}

/** The tarn pool knex keeps under MikroORM; the counters read at scrape time. */
interface PoolStats {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  max: number;
}

/**
 * Database pool use on the service's /metrics, read when scraped:
 * `citadel_db_pool_connections{state="used"|"free"|"pending"}` and `citadel_db_pool_max`.
 */
export function observeDatabasePool(orm: Orm, registry: Registry): void {
  const pool = () => (orm.em.getConnection().getKnex().client as { pool?: PoolStats }).pool;
  new Gauge({
    name: 'citadel_db_pool_connections',
    help: 'Database connections in use (used), idle (free), and requests waiting for one (pending)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const stats = pool();
      this.set({ state: 'used' }, stats?.numUsed() ?? 0);
      this.set({ state: 'free' }, stats?.numFree() ?? 0);
      this.set({ state: 'pending' }, stats?.numPendingAcquires() ?? 0);
    },
  });
  new Gauge({
    name: 'citadel_db_pool_max',
    help: 'Most database connections the pool opens',
    registers: [registry],
    collect() {
      this.set(pool()?.max ?? 0);
    },
  });
}
