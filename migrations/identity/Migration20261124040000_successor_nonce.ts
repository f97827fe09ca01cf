// Identity: a random nonce per refresh token, mixed into its successor's derivation, so the key
// and an old token alone cannot compute later tokens.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261124040000_successor_nonce extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "identity"."refresh_tokens" add column "successor_nonce" varchar(32) not null default '';`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "identity"."refresh_tokens" drop column "successor_nonce";`);
  }
}
