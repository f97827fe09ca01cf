// Identity: TOTP factors (secret sealed with AES-256-GCM), recovery codes, MFA login challenges,
// and the authentication methods of each session.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261124030000_mfa extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "identity"."sessions" add column "amr" varchar(32) not null default 'pwd';`);
    this.addSql(`
      create table "identity"."totp_factors" (
        "user_id" uuid primary key references "identity"."users" ("id") on delete cascade,
        "secret_sealed" text not null,
        "confirmed_at" timestamptz null,
        "last_used_step" bigint null,
        "created_at" timestamptz not null default now()
      );`);
    this.addSql(`
      create table "identity"."recovery_codes" (
        "id" uuid primary key,
        "user_id" uuid not null references "identity"."users" ("id") on delete cascade,
        "code_hash" varchar(64) not null,
        "used_at" timestamptz null,
        constraint "recovery_codes_user_id_code_hash_key" unique ("user_id", "code_hash")
      );`);
    this.addSql(`
      create table "identity"."mfa_challenges" (
        "id" uuid primary key,
        "user_id" uuid not null references "identity"."users" ("id") on delete cascade,
        "token_hash" varchar(64) not null,
        "attempts" int not null default 0,
        "expires_at" timestamptz not null,
        "completed_at" timestamptz null,
        constraint "mfa_challenges_token_hash_key" unique ("token_hash")
      );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "identity"."mfa_challenges";`);
    this.addSql(`drop table if exists "identity"."recovery_codes";`);
    this.addSql(`drop table if exists "identity"."totp_factors";`);
    this.addSql(`alter table "identity"."sessions" drop column "amr";`);
  }
}
