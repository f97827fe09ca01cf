// Authz, first schema: the permission catalogue, roles, grants and the change log gateways follow.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261125000000_init extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "authz"."permissions" (
        "code" varchar(128) primary key,
        "module" varchar(64) not null,
        "description" varchar(500) not null,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now()
      );`);
    this.addSql(`
      create table "authz"."roles" (
        "id" uuid primary key,
        "name" varchar(64) not null,
        "description" varchar(500) not null default '',
        "built_in" boolean not null default false,
        "permissions" text[] not null default '{}',
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now(),
        constraint "roles_name_key" unique ("name")
      );`);
    this.addSql(`
      create table "authz"."grants" (
        "id" uuid primary key,
        "user_id" uuid not null,
        "role_id" uuid not null references "authz"."roles" ("id") on delete cascade,
        "scope" varchar(200) not null,
        "granted_by" uuid null,
        "created_at" timestamptz not null default now(),
        constraint "grants_user_role_scope_key" unique ("user_id", "role_id", "scope")
      );`);
    this.addSql(`create index "grants_role_id_index" on "authz"."grants" ("role_id");`);
    // One row per change that can alter someone's permissions; user_id null means "anyone".
    this.addSql(`
      create table "authz"."changes" (
        "seq" bigserial primary key,
        "user_id" uuid null,
        "created_at" timestamptz not null default now()
      );`);
    this.addSql(`
      insert into "authz"."roles" ("id", "name", "description", "built_in") values
        (gen_random_uuid(), 'admin', 'Holds every permission', true),
        (gen_random_uuid(), 'user', 'Held by every account', true);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "authz"."changes";`);
    this.addSql(`drop table if exists "authz"."grants";`);
    this.addSql(`drop table if exists "authz"."roles";`);
    this.addSql(`drop table if exists "authz"."permissions";`);
  }
}
