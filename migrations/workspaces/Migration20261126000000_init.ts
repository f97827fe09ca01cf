// Workspaces, first schema: workspaces, their members, todos, and createTodo's idempotency keys.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126000000_init extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "workspaces"."workspaces" (
        "id" uuid primary key,
        "name" varchar(100) not null,
        "created_by" uuid not null,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now(),
        "deleted_at" timestamptz null
      );`);
    this.addSql(`
      create table "workspaces"."members" (
        "workspace_id" uuid not null references "workspaces"."workspaces" ("id") on delete cascade,
        "user_id" uuid not null,
        "role" varchar(16) not null check ("role" in ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER')),
        "added_at" timestamptz not null default now(),
        constraint "members_pkey" primary key ("workspace_id", "user_id")
      );`);
    // User.workspaces: the caller's memberships.
    this.addSql(`create index "members_user_id_index" on "workspaces"."members" ("user_id");`);
    this.addSql(`
      create table "workspaces"."todos" (
        "id" uuid primary key,
        "workspace_id" uuid not null references "workspaces"."workspaces" ("id") on delete cascade,
        "title" varchar(200) not null,
        "description" text null,
        "status" varchar(8) not null default 'OPEN' check ("status" in ('OPEN', 'DONE')),
        "due_at" timestamptz null,
        "assignee_id" uuid null,
        "created_by" uuid not null,
        "version" int not null default 1,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now()
      );`);
    // Workspace.todos and User.assignedTodos page in (created_at, id) order.
    this.addSql(`create index "todos_workspace_created_index" on "workspaces"."todos" ("workspace_id", "created_at", "id");`);
    this.addSql(`create index "todos_assignee_created_index" on "workspaces"."todos" ("assignee_id", "created_at", "id") where "assignee_id" is not null;`);
    this.addSql(`
      create table "workspaces"."idempotency_keys" (
        "workspace_id" uuid not null references "workspaces"."workspaces" ("id") on delete cascade,
        "user_id" uuid not null,
        "key" varchar(200) not null,
        "request_hash" char(64) not null,
        "todo_id" uuid not null,
        "created_at" timestamptz not null default now(),
        constraint "idempotency_keys_pkey" primary key ("workspace_id", "user_id", "key")
      );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "workspaces"."idempotency_keys";`);
    this.addSql(`drop table if exists "workspaces"."todos";`);
    this.addSql(`drop table if exists "workspaces"."members";`);
    this.addSql(`drop table if exists "workspaces"."workspaces";`);
  }
}
