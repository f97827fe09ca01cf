// Identity: accounts an administrator disabled (no sign-in, no refresh), and the (created_at, id)
// index the admin account list pages along.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261124050000_user_disabled extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "identity"."users" add column "disabled_at" timestamptz null;`);
    this.addSql(`create index "users_created_at_id_index" on "identity"."users" ("created_at", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "identity"."users_created_at_id_index";`);
    this.addSql(`alter table "identity"."users" drop column "disabled_at";`);
  }
}
