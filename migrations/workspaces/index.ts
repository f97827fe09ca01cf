// Workspaces' migrations, in order. Listed explicitly so they load the same under tsx, vitest and node.
import { Migration20261126000000_init } from './Migration20261126000000_init';
import { Migration20261126010000_outbox } from './Migration20261126010000_outbox';
import { Migration20261126020000_grant_mirror_and_key_expiry } from './Migration20261126020000_grant_mirror_and_key_expiry';

export const workspacesMigrations = [
  { name: 'Migration20261126000000_init', class: Migration20261126000000_init },
  { name: 'Migration20261126010000_outbox', class: Migration20261126010000_outbox },
  { name: 'Migration20261126020000_grant_mirror_and_key_expiry', class: Migration20261126020000_grant_mirror_and_key_expiry },
];
