// Retention: events older than AUDIT_RETENTION_DAYS are written to an NDJSON file (with their
// checkpoints), fsynced, then removed in one transaction up to the last checkpoint before the
// cutoff. That checkpoint stays: it vouches for the first kept event, so the chain still verifies.
import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '@citadel/kit/logger';
import type { ChainVerification, ChainVerifier } from '../chain/chain-verifier';
import { toCheckpoint } from '../chain/chain-verifier';
import { checkpointLine, eventLine } from '../chain/export-lines';
import { CHECKPOINT_COLUMNS, EVENT_COLUMNS, toStoredEvent, type CheckpointRow, type EventRow } from '../events/event.row';
import type { AppendResult, IngestService } from '../events/ingest.service';
import { query, queryOne, RETENTION_LOCK } from '../sql';

export interface RetentionSettings {
  /** Days events are kept; 0 keeps them forever. */
  days: number;
  /** Where the files of removed events go. */
  exportDir: string;
}

export type RetentionRun =
  | { status: 'DISABLED' | 'BUSY' | 'NOTHING_TO_DO'; cutoff: Date | null }
  | { status: 'REFUSED'; cutoff: Date; verification: ChainVerification }
  | { status: 'DONE'; cutoff: Date; fromSeq: number; throughSeq: number; removed: number; file: string };

const DAY_MS = 86_400_000;
const BATCH = 5_000;

export class RetentionService {
  constructor(
    private readonly settings: RetentionSettings,
    private readonly verifier: ChainVerifier,
    private readonly ingest: IngestService,
    private readonly logger: Logger,
  ) {}

  async run(em: EntityManager, now: Date = new Date()): Promise<RetentionRun> {
    if (this.settings.days <= 0) return { status: 'DISABLED', cutoff: null };
    const cutoff = new Date(now.getTime() - this.settings.days * DAY_MS);
    let recorded: AppendResult | undefined;
    const run = await em.transactional(async (tx): Promise<RetentionRun> => {
      const locked = await queryOne<{ locked: boolean }>(tx, 'select pg_try_advisory_xact_lock(hashtext(?)) as "locked"', [RETENTION_LOCK]);
      if (!locked?.locked) return { status: 'BUSY', cutoff };
      const range = await queryOne<{ first: string | null; through: string | null }>(
        tx,
        `select (select min("seq") from "audit"."events")::text as "first",
                (select max(c."seq") from "audit"."checkpoints" c
                   join "audit"."events" e on e."seq" = c."seq" where e."recorded_at" < ?::timestamptz)::text as "through"`,
        [cutoff.toISOString()],
      );
      if (range?.first == null || range.through == null) return { status: 'NOTHING_TO_DO', cutoff };
      const fromSeq = Number(range.first);
      const throughSeq = Number(range.through);
      // Never remove what no longer verifies: the evidence of tampering would go with it.
      const verification = await this.verifier.verify(tx, { fromSeq, toSeq: throughSeq });
      if (!verification.ok) return { status: 'REFUSED', cutoff, verification };
      const file = await this.export(tx, fromSeq, throughSeq);
      const pruned = await queryOne<{ removed: string }>(tx, 'select "audit"."prune_through"(?)::text as "removed"', [throughSeq]);
      const removed = Number(pruned?.removed ?? 0);
      // The run is itself on the trail, in the same transaction as the removal.
      recorded = await this.ingest.appendInTransaction(tx, [prunedEvent({ fromSeq, throughSeq, removed, file: basename(file), cutoff })]);
      return { status: 'DONE', cutoff, fromSeq, throughSeq, removed, file };
    });
    // Committed: live subscribers may see the run's own event now.
    if (run.status === 'DONE' && recorded) await this.ingest.announce([recorded]);
    if (run.status === 'REFUSED') {
      this.logger.error({ verification: run.verification }, 'audit retention refused: the events it would remove do not verify');
    } else if (run.status === 'DONE') {
      this.logger.info({ fromSeq: run.fromSeq, throughSeq: run.throughSeq, removed: run.removed, file: run.file }, 'audit retention exported and removed events');
    }
    return run;
  }

  /**
   * Writes events fromSeq..throughSeq, then the checkpoints from the one anchoring fromSeq through
   * throughSeq, to `<dir>/audit-<from>-<through>.ndjson`: written beside, fsynced, then renamed.
   */
  private async export(tx: EntityManager, fromSeq: number, throughSeq: number): Promise<string> {
    await mkdir(this.settings.exportDir, { recursive: true, mode: 0o700 });
    const file = join(this.settings.exportDir, `audit-${fromSeq}-${throughSeq}.ndjson`);
    const partial = `${file}.${randomUUID()}.partial`;
    const handle = await open(partial, 'w', 0o600);
    try {
      for (let after = fromSeq - 1; after < throughSeq; ) {
        const rows = await query<EventRow>(tx, `select ${EVENT_COLUMNS} from "audit"."events" where "seq" > ? and "seq" <= ? order by "seq" limit ?`, [
          after,
          throughSeq,
          BATCH,
        ]);
        if (rows.length === 0) break;
        await write(handle, rows.map((row) => eventLine(toStoredEvent(row))).join(''));
        after = Number(rows.at(-1)!.seq);
      }
      const checkpoints = await query<CheckpointRow>(
        tx,
        `select ${CHECKPOINT_COLUMNS} from "audit"."checkpoints" where "seq" between ? and ? order by "seq"`,
        [fromSeq - 1, throughSeq],
      );
      await write(handle, checkpoints.map((row) => checkpointLine(toCheckpoint(row))).join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, file);
    const dir = await open(this.settings.exportDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return file;
  }
}

async function write(handle: FileHandle, text: string): Promise<void> {
  if (text.length > 0) await handle.write(text, null, 'utf8');
}

function prunedEvent(run: { fromSeq: number; throughSeq: number; removed: number; file: string; cutoff: Date }) {
  return {
    id: randomUUID(),
    occurredAt: new Date(),
    service: 'audit',
    actorType: 'service' as const,
    actorId: 'audit',
    actorSessionId: null,
    action: 'audit.events.pruned',
    targetType: 'AuditChain',
    targetId: null,
    outcome: 'success' as const,
    reason: null,
    ip: null,
    userAgent: null,
    requestId: null,
    traceId: null,
    operationName: null,
    changes: {
      before: null,
      after: { fromSeq: run.fromSeq, throughSeq: run.throughSeq, removed: run.removed, file: run.file, cutoff: run.cutoff.toISOString() },
    },
  };
}
