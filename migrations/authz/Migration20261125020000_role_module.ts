// authz: which module declared a role, so that module (and only it) may grant it in its scopes.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261125020000_role_module extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "authz"."roles" add column "module" varchar(64) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "authz"."roles" drop column "module";`);
  }
}
