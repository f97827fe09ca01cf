// Authz's migrations, in order. Listed explicitly so they load the same under tsx, vitest and node.
import { Migration20261125000000_init } from './Migration20261125000000_init';

export const authzMigrations = [{ name: 'Migration20261125000000_init', class: Migration20261125000000_init }];
