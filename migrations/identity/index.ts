// Identity's migrations, in order. Listed explicitly so they load the same under tsx, vitest and node.
import { Migration20261124000000_init } from './Migration20261124000000_init';
import { Migration20261124010000_sessions } from './Migration20261124010000_sessions';
import { Migration20261124020000_email_tokens } from './Migration20261124020000_email_tokens';
import { Migration20261124030000_mfa } from './Migration20261124030000_mfa';
import { Migration20261124040000_successor_nonce } from './Migration20261124040000_successor_nonce';
import { Migration20261124050000_user_disabled } from './Migration20261124050000_user_disabled';
import { Migration20261125010000_outbox } from './Migration20261125010000_outbox';

export const identityMigrations = [
  { name: 'Migration20261124000000_init', class: Migration20261124000000_init },
  { name: 'Migration20261124010000_sessions', class: Migration20261124010000_sessions },
  { name: 'Migration20261124020000_email_tokens', class: Migration20261124020000_email_tokens },
  { name: 'Migration20261124030000_mfa', class: Migration20261124030000_mfa },
  { name: 'Migration20261124040000_successor_nonce', class: Migration20261124040000_successor_nonce },
  { name: 'Migration20261124050000_user_disabled', class: Migration20261124050000_user_disabled },
  { name: 'Migration20261125010000_outbox', class: Migration20261125010000_outbox },
];
