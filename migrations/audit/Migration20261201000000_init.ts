// Audit, first schema: the append-only, hash-chained event table, signed checkpoints, the trigger
// that refuses changes to either, and the one sanctioned way to remove a prefix (retention).
import { Migration } from '@mikro-orm/migrations';

export class Migration20261201000000_init extends Migration {
  override async up(): Promise<void> {
    // seq is assigned by the ingester under an advisory lock, never by a sequence: a sequence
    // leaves gaps on rollback, and the chain must be gap-free.
    this.addSql(`
      create table "audit"."events" (
        "seq" bigint primary key check ("seq" > 0),
        "id" uuid not null,
        "occurred_at" timestamptz not null,
        "recorded_at" timestamptz not null,
        "service" varchar(64) not null,
        "actor_type" varchar(16) not null check ("actor_type" in ('user', 'service', 'anonymous')),
        "actor_id" varchar(128) null,
        "actor_session_id" varchar(128) null,
        "action" varchar(128) not null,
        "target_type" varchar(64) null,
        "target_id" varchar(256) null,
        "outcome" varchar(16) not null check ("outcome" in ('success', 'failure', 'denied')),
        "reason" varchar(500) null,
        "ip" varchar(64) null,
        "user_agent" varchar(512) null,
        "request_id" varchar(128) null,
        "trace_id" varchar(128) null,
        "operation_name" varchar(256) null,
        "changes" jsonb null,
        "prev_hash" char(64) not null,
        "hash" char(64) not null,
        constraint "events_id_key" unique ("id")
      );`);
    this.addSql(`create index "events_recorded_at_index" on "audit"."events" ("recorded_at");`);
    this.addSql(`create index "events_occurred_at_index" on "audit"."events" ("occurred_at");`);
    this.addSql(`create index "events_actor_id_index" on "audit"."events" ("actor_id");`);
    this.addSql(`create index "events_target_index" on "audit"."events" ("target_type", "target_id");`);
    this.addSql(`create index "events_action_prefix_index" on "audit"."events" ("action" text_pattern_ops);`);
    // seq: the last event the checkpoint covers; hash: that event's hash, signed with audit's key.
    this.addSql(`
      create table "audit"."checkpoints" (
        "seq" bigint primary key check ("seq" > 0),
        "hash" char(64) not null,
        "signed_at" timestamptz not null,
        "key_id" varchar(128) not null,
        "signature" varchar(256) not null
      );`);

    // Append-only even for a superuser. The only deletion let through is a prefix up to a
    // checkpoint, inside audit.prune_through (which sets audit.prune_through for its transaction).
    // Tamper tests lift the trigger with `set local session_replication_role = replica`.
    this.addSql(`
      create function "audit"."refuse_change"() returns trigger language plpgsql as $$
      declare
        through bigint := nullif(current_setting('audit.prune_through', true), '')::bigint;
      begin
        if tg_op = 'DELETE' and tg_level = 'ROW' and through is not null then
          if old.seq < through or (tg_table_name = 'events' and old.seq = through) then
            return old;
          end if;
        end if;
        raise exception 'audit.% is append-only: % refused', tg_table_name, tg_op
          using errcode = 'P0001', hint = 'Only audit.prune_through(seq) may remove events, up to a checkpoint.';
      end $$;`);
    for (const table of ['events', 'checkpoints']) {
      this.addSql(`
        create trigger "${table}_append_only" before update or delete on "audit"."${table}"
          for each row execute function "audit"."refuse_change"();`);
      this.addSql(`
        create trigger "${table}_no_truncate" before truncate on "audit"."${table}"
          for each statement execute function "audit"."refuse_change"();`);
    }
    this.addSql(`revoke update, delete, truncate on "audit"."events", "audit"."checkpoints" from public;`);

    // Retention: removes events up to and including `through_seq`, and the checkpoints before it.
    // The checkpoint at `through_seq` is kept: it vouches for the first kept event's prev_hash.
    // Security definer, so a service role holding only SELECT, INSERT and EXECUTE can prune but
    // never edit or delete anything else.
    this.addSql(`
      create function "audit"."prune_through"(through_seq bigint) returns bigint
      language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
      declare
        removed bigint;
      begin
        if not exists (select 1 from "audit"."checkpoints" where "seq" = through_seq) then
          raise exception 'audit.prune_through(%): no checkpoint at that sequence vouches for the kept chain', through_seq;
        end if;
        perform set_config('audit.prune_through', through_seq::text, true);
        delete from "audit"."events" where "seq" <= through_seq;
        get diagnostics removed = row_count;
        delete from "audit"."checkpoints" where "seq" < through_seq;
        perform set_config('audit.prune_through', '', true);
        return removed;
      end $$;`);
    this.addSql(`revoke all on function "audit"."prune_through"(bigint) from public;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists "audit"."prune_through"(bigint);`);
    this.addSql(`drop table if exists "audit"."checkpoints";`);
    this.addSql(`drop table if exists "audit"."events";`);
    this.addSql(`drop function if exists "audit"."refuse_change"();`);
  }
}
