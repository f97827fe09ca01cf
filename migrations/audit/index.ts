// Audit's migrations, in order. Listed explicitly so they load the same under tsx, vitest and node.
import { Migration20261201000000_init } from './Migration20261201000000_init';

export const auditMigrations = [{ name: 'Migration20261201000000_init', class: Migration20261201000000_init }];
