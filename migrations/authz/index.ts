// Authz's migrations, in order. Listed explicitly so they load the same under tsx, vitest and node.
import { Migration20261125000000_init } from './Migration20261125000000_init';
import { Migration20261125010000_outbox } from './Migration20261125010000_outbox';
import { Migration20261125020000_role_module } from './Migration20261125020000_role_module';

export const authzMigrations = [
  { name: 'Migration20261125000000_init', class: Migration20261125000000_init },
  { name: 'Migration20261125010000_outbox', class: Migration20261125010000_outbox },
  { name: 'Migration20261125020000_role_module', class: Migration20261125020000_role_module },
];
