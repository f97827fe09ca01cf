// Applies every subgraph's pending migrations, each in its own Postgres schema.
import 'reflect-metadata';
import { createOrm, migrate } from '@citadel/kit/db';
import type { Logger } from '@citadel/kit/logger';
import { migrationsDir } from '@citadel/kit/paths';
import { entities as identityEntities } from '../subgraphs/identity/src/schema';

const SUBGRAPH_ENTITIES = { identity: identityEntities };

export async function migrateAll(url: string, logger: Logger): Promise<void> {
  for (const [schema, entities] of Object.entries(SUBGRAPH_ENTITIES)) {
    const orm = await createOrm({ url, schema, entities, migrationsPath: migrationsDir(schema), logger, poolMax: 1 });
    try {
      const applied = await migrate(orm, schema);
      logger.info({ subgraph: schema, applied }, applied.length ? 'migrations applied' : 'migrations up to date');
    } finally {
      await orm.close();
    }
  }
}
