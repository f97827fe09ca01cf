// Identity, first schema: accounts, sessions, rotating refresh tokens.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261124000000_init extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "identity"."users" (
        "id" uuid primary key,
        "email" varchar(320) not null,
        "email_canonical" varchar(320) not null,
        "name" varchar(200) not null,
        "password_hash" varchar(255) not null,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now(),
        constraint "users_email_canonical_key" unique ("email_canonical")
      );`);
    this.addSql(`
      create table "identity"."sessions" (
        "id" uuid primary key,
        "user_id" uuid not null references "identity"."users" ("id") on delete cascade,
        "created_at" timestamptz not null default now(),
        "revoked_at" timestamptz null,
        "revoked_reason" varchar(64) null
      );`);
    this.addSql(`create index "sessions_user_id_index" on "identity"."sessions" ("user_id");`);
    this.addSql(`
      create table "identity"."refresh_tokens" (
        "id" uuid primary key,
        "session_id" uuid not null references "identity"."sessions" ("id") on delete cascade,
        "token_hash" varchar(64) not null,
        "created_at" timestamptz not null default now(),
        "expires_at" timestamptz not null,
        "used_at" timestamptz null,
        constraint "refresh_tokens_token_hash_key" unique ("token_hash")
      );`);
    this.addSql(`create index "refresh_tokens_session_id_index" on "identity"."refresh_tokens" ("session_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "identity"."refresh_tokens";`);
    this.addSql(`drop table if exists "identity"."sessions";`);
    this.addSql(`drop table if exists "identity"."users";`);
  }
}
