// Recomputes the chain from the stored rows and checks every checkpoint in range, reading in
// keyset batches so a chain of millions of events never sits in memory at once.
import { IsolationLevel, type EntityManager } from '@mikro-orm/postgresql';
import { badUserInput } from '@citadel/kit/errors';
import { CHECKPOINT_COLUMNS, EVENT_COLUMNS, toStoredEvent, type CheckpointRow, type EventRow } from '../events/event.row';
import { query, queryOne } from '../sql';
import { chainHash, GENESIS_HASH, type StoredEvent } from './canonical';
import type { Checkpoint, CheckpointSigner } from './checkpoint';

export const CHAIN_BREAKS = {
  /** A stored hash is not sha256(prev_hash || canonical(event)), or prev_hash is not the previous event's hash. */
  HASH_MISMATCH: 'HASH_MISMATCH',
  /** A sequence number is missing (a deleted event, or a removed prefix no checkpoint vouches for). */
  SEQUENCE_GAP: 'SEQUENCE_GAP',
  /** A checkpoint's signature is not audit's over its fields. */
  BAD_CHECKPOINT_SIGNATURE: 'BAD_CHECKPOINT_SIGNATURE',
  /** A correctly signed checkpoint names another hash than the event's at its seq. */
  CHECKPOINT_MISMATCH: 'CHECKPOINT_MISMATCH',
  /**
   * More events than the checkpoint interval pass without a checkpoint: checkpoints were deleted
   * (which is what rewriting a stretch of the chain and recomputing its hashes needs).
   */
  MISSING_CHECKPOINT: 'MISSING_CHECKPOINT',
} as const;

export type ChainBreak = keyof typeof CHAIN_BREAKS;

export interface ChainVerification {
  ok: boolean;
  /** Events whose hash was recomputed (from the anchoring checkpoint on, when there is one). */
  checked: number;
  checkpointsChecked: number;
  /** The range verified, after clamping to the events kept; null when there is none. */
  fromSeq: number | null;
  toSeq: number | null;
  firstBrokenSeq: number | null;
  reason: ChainBreak | null;
  /** What exactly failed, for a person. */
  detail: string | null;
}

export interface VerifyRange {
  fromSeq?: number | null | undefined;
  toSeq?: number | null | undefined;
}

const BATCH = 5_000;

export class ChainVerifier {
  /**
   * @param checkpointEvery audit signs a checkpoint at least every this many events, so a longer
   *   stretch without one means checkpoints were removed. Raising CHECKPOINT_EVERY is safe; lowering
   *   it makes older, sparser stretches look broken.
   */
  constructor(
    private readonly signer: CheckpointSigner,
    private readonly checkpointEvery: number,
    private readonly batchSize = BATCH,
  ) {}

  /** Reads one snapshot: events and checkpoints appended or pruned meanwhile are not half-seen. */
  async verify(em: EntityManager, range: VerifyRange = {}): Promise<ChainVerification> {
    return em.transactional((tx) => this.verifyIn(tx, range), { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true });
  }

  private async verifyIn(em: EntityManager, range: VerifyRange): Promise<ChainVerification> {
    for (const [name, value] of Object.entries(range)) {
      if (value != null && (!Number.isSafeInteger(value) || value < 1)) throw badUserInput(`\`${name}\` must be a sequence number (1 or more)`, { field: name });
    }
    if (range.fromSeq != null && range.toSeq != null && range.fromSeq > range.toSeq) {
      throw badUserInput('`fromSeq` must not be after `toSeq`', { field: 'fromSeq' });
    }
    const bounds = await queryOne<{ min: string | null; max: string | null }>(
      em,
      'select min("seq")::text as "min", max("seq")::text as "max" from "audit"."events"',
    );
    const result = new Result();
    if (bounds?.min == null || bounds.max == null) return result.done(null, null);
    const firstKept = Number(bounds.min);
    const lastKept = Number(bounds.max);
    // Before the first kept event there is nothing left to check: retention exported it.
    const from = Math.max(range.fromSeq ?? firstKept, firstKept);
    const to = Math.min(range.toSeq ?? lastKept, lastKept);
    if (from > to) return result.done(null, null);

    // The nearest checkpoint before `from` anchors the walk: its signed hash must be the prev_hash
    // of the event after it. Without one, the walk starts at the genesis.
    const anchorRow = await queryOne<CheckpointRow>(
      em,
      `select ${CHECKPOINT_COLUMNS} from "audit"."checkpoints" where "seq" < ? order by "seq" desc limit 1`,
      [from],
    );
    let prevHash = GENESIS_HASH;
    let expected = 1;
    let lastCheckpoint = 0;
    if (anchorRow) {
      const anchor = toCheckpoint(anchorRow);
      result.checkpointsChecked++;
      if (!this.signer.verify(anchor)) return result.broken('BAD_CHECKPOINT_SIGNATURE', anchor.seq, `checkpoint ${anchor.seq} is not signed by a known audit key`, from, to);
      prevHash = anchor.hash;
      expected = anchor.seq + 1;
      lastCheckpoint = anchor.seq;
    }
    const missing = (atSeq: number) =>
      result.broken('MISSING_CHECKPOINT', lastCheckpoint + this.checkpointEvery, `no checkpoint between ${lastCheckpoint} and ${atSeq}, more than ${this.checkpointEvery} events apart`, from, to);

    // The next batch is read while this one is hashed.
    const read = (after: number) => this.readBatch(em, after, to);
    let pending: Promise<Batch> | null = read(expected - 1);
    try {
      while (pending) {
        const { events, checkpoints }: Batch = await pending;
        pending = events.length === this.batchSize ? read(events.at(-1)!.seq) : null;
        for (const event of events) {
          if (event.seq !== expected) return result.broken('SEQUENCE_GAP', expected, `no event with seq ${expected} (the next stored is ${event.seq})`, from, to);
          if (event.prevHash !== prevHash) {
            return result.broken('HASH_MISMATCH', event.seq, `prev_hash of ${event.seq} is not the hash of ${event.seq - 1}`, from, to);
          }
          if (chainHash(prevHash, event) !== event.hash) return result.broken('HASH_MISMATCH', event.seq, `event ${event.seq} does not hash to its stored hash`, from, to);
          result.checked++;
          const checkpoint = checkpoints.get(event.seq);
          if (checkpoint) {
            if (checkpoint.seq - lastCheckpoint > this.checkpointEvery) return missing(checkpoint.seq);
            lastCheckpoint = checkpoint.seq;
            result.checkpointsChecked++;
            if (!this.signer.verify(checkpoint)) {
              return result.broken('BAD_CHECKPOINT_SIGNATURE', event.seq, `checkpoint ${event.seq} is not signed by a known audit key`, from, to);
            }
            if (checkpoint.hash !== event.hash) return result.broken('CHECKPOINT_MISMATCH', event.seq, `checkpoint ${event.seq} names another hash`, from, to);
          }
          prevHash = event.hash;
          expected++;
        }
      }
    } finally {
      // Returning early leaves a read in flight on the caller's connection: let it finish first.
      await pending?.catch(() => undefined);
    }
    if (expected <= to) return result.broken('SEQUENCE_GAP', expected, `no event with seq ${expected}`, from, to);
    // The stored tail past the last checkpoint is never longer than the interval.
    if (to === lastKept && lastKept - lastCheckpoint > this.checkpointEvery) return missing(lastKept);
    // A checkpoint after the last stored event means events it covered were removed from the end.
    if (to === lastKept) {
      const beyond = await queryOne<{ seq: string }>(em, 'select min("seq")::text as "seq" from "audit"."checkpoints" where "seq" > ? having count(*) > 0', [lastKept]);
      if (beyond) return result.broken('SEQUENCE_GAP', lastKept + 1, `checkpoint ${beyond.seq} covers events after the last stored (${lastKept})`, from, to);
    }
    return result.done(from, to);
  }

  /** Up to batchSize events after `after` (through `to`), with the checkpoints among them. */
  private async readBatch(em: EntityManager, after: number, to: number): Promise<Batch> {
    const events = (
      await query<EventRow>(em, `select ${EVENT_COLUMNS} from "audit"."events" where "seq" > ? and "seq" <= ? order by "seq" limit ?`, [
        after,
        to,
        this.batchSize,
      ])
    ).map(toStoredEvent);
    if (events.length === 0) return { events, checkpoints: new Map() };
    const rows = await query<CheckpointRow>(em, `select ${CHECKPOINT_COLUMNS} from "audit"."checkpoints" where "seq" > ? and "seq" <= ?`, [
      after,
      events.at(-1)!.seq,
    ]);
    return { events, checkpoints: new Map(rows.map((row) => [Number(row.seq), toCheckpoint(row)])) };
  }
}

interface Batch {
  events: StoredEvent[];
  /** The checkpoints among these events, by seq. */
  checkpoints: Map<number, Checkpoint>;
}

class Result {
  checked = 0;
  checkpointsChecked = 0;

  done(fromSeq: number | null, toSeq: number | null): ChainVerification {
    return { ok: true, checked: this.checked, checkpointsChecked: this.checkpointsChecked, fromSeq, toSeq, firstBrokenSeq: null, reason: null, detail: null };
  }

  broken(reason: ChainBreak, seq: number, detail: string, fromSeq: number, toSeq: number): ChainVerification {
    return { ok: false, checked: this.checked, checkpointsChecked: this.checkpointsChecked, fromSeq, toSeq, firstBrokenSeq: seq, reason, detail };
  }
}

export function toCheckpoint(row: CheckpointRow): Checkpoint {
  return { ...row, seq: Number(row.seq) };
}
