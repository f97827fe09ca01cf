// Appends events to the chain: idempotent on event id, gap-free sequence numbers, each event's hash
// linking it to the one before, all in one transaction under the chain lock, in one INSERT.
// Deliveries arriving while a transaction runs wait and go together in the next one (group
// commit): the chain lock serializes appends, so fewer, larger transactions are what scales.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '@citadel/kit/logger';
import type { PubSub } from '@citadel/kit/pubsub';
import { chainHash, chainTime, type ChainedEvent } from '../chain/canonical';
import { lockChain, readHead } from '../chain/chain-head';
import type { Checkpoint } from '../chain/checkpoint';
import type { CheckpointService } from '../chain/checkpoint.service';
import { query } from '../sql';
import type { NormalizedEvent } from './event.input';

/** Where each committed append is announced, as a RecordedMessage (the live feed listens). */
export const RECORDED_CHANNEL = 'audit.events.recorded';

/** The events one transaction appended: seqs firstSeq..lastSeq, their ids in seq order. */
export interface RecordedMessage {
  firstSeq: number;
  lastSeq: number;
  ids: string[];
}
/** Events appended in one transaction at most (a single delivery is never split). */
const MAX_GROUP_EVENTS = 2_000;

export interface AppendResult {
  accepted: number;
  /** Events already stored (delivered before) or repeated in the batch: skipped. */
  duplicates: number;
  /** The sequence numbers given to the accepted events; null when none was accepted. */
  firstSeq: number | null;
  lastSeq: number | null;
  /** The accepted events' ids, in seq order. */
  ids: string[];
  /** Checkpoints signed by the transaction that stored them. */
  checkpoints: Checkpoint[];
}

interface Waiting {
  events: readonly NormalizedEvent[];
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

export class IngestService {
  private readonly waiting: Waiting[] = [];
  private draining = false;

  constructor(
    private readonly checkpoints: CheckpointService,
    private readonly pubsub: PubSub,
    private readonly logger: Logger,
  ) {}

  /** Appends the delivery (with any others waiting) in a transaction, then announces what it stored. */
  ingest(em: EntityManager, events: readonly NormalizedEvent[]): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ events, resolve, reject });
      if (!this.draining) void this.drain(em);
    });
  }

  /**
   * Appends inside the caller's transaction `tx` (retention records its own run this way); the
   * caller announces the result once `tx` committed.
   */
  async appendInTransaction(tx: EntityManager, events: readonly NormalizedEvent[]): Promise<AppendResult> {
    return (await this.appendGroup(tx, [events]))[0]!;
  }

  private async drain(em: EntityManager): Promise<void> {
    this.draining = true;
    try {
      while (this.waiting.length > 0) {
        const group = this.takeGroup();
        try {
          const results = await em.transactional((tx) => this.appendGroup(tx, group.map((w) => w.events)));
          group.forEach((waiting, i) => waiting.resolve(results[i]!));
          await this.announce(results);
        } catch (error) {
          for (const waiting of group) waiting.reject(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private takeGroup(): Waiting[] {
    const group = [this.waiting.shift()!];
    let size = group[0]!.events.length;
    while (this.waiting.length > 0 && size + this.waiting[0]!.events.length <= MAX_GROUP_EVENTS) {
      const next = this.waiting.shift()!;
      size += next.events.length;
      group.push(next);
    }
    return group;
  }

  /** One result per batch, in order; an id stored before or earlier in the group is a duplicate. */
  private async appendGroup(tx: EntityManager, batches: readonly (readonly NormalizedEvent[])[]): Promise<AppendResult[]> {
    const ids = [...new Set(batches.flatMap((batch) => batch.map((event) => event.id)))];
    if (ids.length === 0) return batches.map(() => ({ accepted: 0, duplicates: 0, firstSeq: null, lastSeq: null, ids: [], checkpoints: [] }));
    await lockChain(tx);
    // Under the lock no other append can store these ids between this read and the insert.
    const head = await readHead(tx, ids);
    const seen = head.storedIds;
    let seq = head.seq;
    let prevHash = head.hash;
    const rows: StoredRow[] = [];
    const results: AppendResult[] = batches.map((batch) => {
      const result: AppendResult = { accepted: 0, duplicates: 0, firstSeq: null, lastSeq: null, ids: [], checkpoints: [] };
      for (const event of batch) {
        if (seen.has(event.id)) {
          result.duplicates++;
          continue;
        }
        seen.add(event.id);
        const chained = toChained(event, ++seq, head.now);
        const hash = chainHash(prevHash, chained);
        rows.push({ ...chained, prevHash, hash });
        prevHash = hash;
        result.accepted++;
        result.ids.push(event.id);
        result.firstSeq ??= seq;
        result.lastSeq = seq;
      }
      return result;
    });
    if (rows.length === 0) return results;
    await query(tx, INSERT_EVENTS, [JSON.stringify(rows.map(toColumns))]);
    const checkpoints = await this.checkpoints.afterAppend(tx, rows, head.lastCheckpointSeq, head.now);
    for (const result of results) result.checkpoints = checkpoints;
    return results;
  }

  /**
   * Publishes what committed transactions stored, for the live feed on every instance. Call it
   * only after the commit: a subscriber must never see an event that rolled back. Best effort:
   * a follower can always catch up by seq.
   */
  async announce(results: readonly AppendResult[]): Promise<void> {
    const stored = results.filter((r) => r.lastSeq !== null);
    if (stored.length === 0) return;
    const message: RecordedMessage = {
      firstSeq: Math.min(...stored.map((r) => r.firstSeq!)),
      lastSeq: Math.max(...stored.map((r) => r.lastSeq!)),
      // Results of one group are in seq order (each batch's events follow the previous batch's).
      ids: stored.flatMap((r) => r.ids),
    };
    await this.pubsub
      .publish(RECORDED_CHANNEL, message)
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not announce recorded audit events'));
  }
}

type StoredRow = ChainedEvent & { prevHash: string; hash: string };

function toChained(event: NormalizedEvent, seq: number, recordedAt: string): ChainedEvent {
  return {
    seq,
    id: event.id,
    occurredAt: chainTime(event.occurredAt),
    recordedAt,
    service: event.service,
    actorType: event.actorType,
    actorId: event.actorId,
    actorSessionId: event.actorSessionId,
    action: event.action,
    targetType: event.targetType,
    targetId: event.targetId,
    outcome: event.outcome,
    reason: event.reason,
    ip: event.ip,
    userAgent: event.userAgent,
    requestId: event.requestId,
    traceId: event.traceId,
    operationName: event.operationName,
    changes: event.changes,
  };
}

function toColumns(row: StoredRow): Record<string, unknown> {
  return {
    seq: row.seq,
    id: row.id,
    occurred_at: row.occurredAt,
    recorded_at: row.recordedAt,
    service: row.service,
    actor_type: row.actorType,
    actor_id: row.actorId,
    actor_session_id: row.actorSessionId,
    action: row.action,
    target_type: row.targetType,
    target_id: row.targetId,
    outcome: row.outcome,
    reason: row.reason,
    ip: row.ip,
    user_agent: row.userAgent,
    request_id: row.requestId,
    trace_id: row.traceId,
    operation_name: row.operationName,
    changes: row.changes,
    prev_hash: row.prevHash,
    hash: row.hash,
  };
}

const COLUMNS = [
  ['seq', 'bigint'],
  ['id', 'uuid'],
  ['occurred_at', 'timestamptz'],
  ['recorded_at', 'timestamptz'],
  ['service', 'text'],
  ['actor_type', 'text'],
  ['actor_id', 'text'],
  ['actor_session_id', 'text'],
  ['action', 'text'],
  ['target_type', 'text'],
  ['target_id', 'text'],
  ['outcome', 'text'],
  ['reason', 'text'],
  ['ip', 'text'],
  ['user_agent', 'text'],
  ['request_id', 'text'],
  ['trace_id', 'text'],
  ['operation_name', 'text'],
  ['changes', 'jsonb'],
  ['prev_hash', 'text'],
  ['hash', 'text'],
] as const;

// One statement for the whole batch: the rows travel as one JSON parameter.
const INSERT_EVENTS = `
  insert into "audit"."events" (${COLUMNS.map(([name]) => `"${name}"`).join(', ')})
  select ${COLUMNS.map(([name]) => `r."${name}"`).join(', ')}
    from jsonb_to_recordset(?::jsonb) as r(${COLUMNS.map(([name, type]) => `"${name}" ${type}`).join(', ')})`;
