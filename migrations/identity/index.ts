// Identity's migrations, in order. Listed explicitly so they load the same under tsx, vitest and node.
import { Migration20261124000000_init } from './Migration20261124000000_init';

export const identityMigrations = [{ name: 'Migration20261124000000_init', class: Migration20261124000000_init }];
