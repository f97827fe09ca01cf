// Applies every subgraph's pending migrations, each in its own Postgres schema.
import 'reflect-metadata';
import { createOrm, migrate } from '@citadel/kit/db';
import type { Logger } from '@citadel/kit/logger';
import { database as audit } from '../subgraphs/audit/src/schema';
import { database as authz } from '../subgraphs/authz/src/schema';
import { database as identity } from '../subgraphs/identity/src/schema';
import { FEATURE_SUBGRAPHS, type SubgraphDatabase } from './subgraphs';

/** The platform's databases first (features depend on none of theirs), then each feature subgraph's. */
async function databases(): Promise<SubgraphDatabase[]> {
  return [identity, authz, audit, ...(await Promise.all(FEATURE_SUBGRAPHS.map((feature) => feature.database())))];
}

export async function migrateAll(url: string, logger: Logger): Promise<void> {
  for (const database of await databases()) {
    const orm = await createOrm({ url, logger, limits: { poolMax: 1 }, ...database });
    try {
      const applied = await migrate(orm, database.schema);
      logger.info({ subgraph: database.schema, applied }, applied.length ? 'migrations applied' : 'migrations up to date');
    } finally {
      await orm.close();
    }
  }
}
