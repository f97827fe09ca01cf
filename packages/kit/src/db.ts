// MikroORM per subgraph: its own Postgres schema, its own migrations folder, a fork per request.
import { Migrator, type Migration } from '@mikro-orm/migrations';
import { MikroORM, type EntitySchema, type Options } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';

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
