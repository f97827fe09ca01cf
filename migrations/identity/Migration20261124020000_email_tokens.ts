// Identity: verified emails, and single-use tokens for email verification and password reset.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261124020000_email_tokens extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "identity"."users" add column "email_verified_at" timestamptz null;`);
    this.addSql(`
      create table "identity"."email_tokens" (
        "id" uuid primary key,
        "user_id" uuid not null references "identity"."users" ("id") on delete cascade,
        "purpose" varchar(32) not null,
        "token_hash" varchar(64) not null,
        "created_at" timestamptz not null default now(),
        "expires_at" timestamptz not null,
        "used_at" timestamptz null,
        constraint "email_tokens_token_hash_key" unique ("token_hash")
      );`);
    this.addSql(`create index "email_tokens_user_id_purpose_index" on "identity"."email_tokens" ("user_id", "purpose");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "identity"."email_tokens";`);
    this.addSql(`alter table "identity"."users" drop column "email_verified_at";`);
  }
}
