// Identity: session metadata (user agent, IP, last use) and refresh-token lineage for the grace window.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261124010000_sessions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "identity"."sessions"
      add column "user_agent" varchar(512) null,
      add column "ip" varchar(64) null,
      add column "last_used_at" timestamptz not null default now();`);
    this.addSql(`alter table "identity"."refresh_tokens"
      add column "parent_id" uuid null references "identity"."refresh_tokens" ("id") on delete set null;`);
    this.addSql(`create index "sessions_user_id_revoked_at_index" on "identity"."sessions" ("user_id") where "revoked_at" is null;`);
    this.addSql(`create index "sessions_revoked_at_index" on "identity"."sessions" ("revoked_at") where "revoked_at" is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "identity"."sessions_revoked_at_index";`);
    this.addSql(`drop index if exists "identity"."sessions_user_id_revoked_at_index";`);
    this.addSql(`alter table "identity"."refresh_tokens" drop column "parent_id";`);
    this.addSql(`alter table "identity"."sessions" drop column "user_agent", drop column "ip", drop column "last_used_at";`);
  }
}
