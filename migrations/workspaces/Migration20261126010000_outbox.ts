// workspaces: the transactional outbox its relay delivers to audit (packages/kit/src/outbox.ts).
import { Migration } from '@mikro-orm/migrations';
import { outboxTableSql } from '@citadel/kit/outbox';

export class Migration20261126010000_outbox extends Migration {
  override async up(): Promise<void> {
    for (const sql of outboxTableSql('workspaces')) this.addSql(sql);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "workspaces"."outbox";');
  }
}
