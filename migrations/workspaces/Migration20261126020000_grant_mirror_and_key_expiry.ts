// workspaces: the durable authz grant mirror (grant-mirror.ts), and an index for purging expired
// createTodo idempotency keys.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126020000_grant_mirror_and_key_expiry extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "workspaces"."grant_mirror" (
        "seq" bigint generated always as identity primary key,
        "changes" jsonb not null,
        "created_at" timestamptz not null default now(),
        "attempts" int not null default 0,
        "next_attempt_at" timestamptz not null default now(),
        "last_error" varchar(500) null
      );`);
    this.addSql(`create index "idempotency_keys_created_at_index" on "workspaces"."idempotency_keys" ("created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "workspaces"."idempotency_keys_created_at_index";`);
    this.addSql(`drop table if exists "workspaces"."grant_mirror";`);
  }
}
