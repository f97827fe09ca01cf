// MikroORM per subgraph: its own Postgres schema, its own migrations folder, a fork per request.
import { Migrator, type Migration } from '@mikro-orm/migrations';
import { MikroORM, type EntitySchema, type Options } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';

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
  poolMax?: number;
}

export async function createOrm(options: OrmOptions): Promise<Orm> {
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
    pool: { min: 0, max: options.poolMax ?? 10 },
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
