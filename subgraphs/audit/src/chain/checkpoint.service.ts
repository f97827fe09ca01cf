// Signs a checkpoint every N events (inside the append's transaction) and, on a timer, of the
// chain's head whenever events arrived since the last one.
import type { EntityManager } from '@mikro-orm/postgresql';
import { query } from '../sql';
import { lockChain, readHead } from './chain-head';
import type { Checkpoint, CheckpointSigner } from './checkpoint';

export class CheckpointService {
  constructor(
    readonly signer: CheckpointSigner,
    /** Events between checkpoints (CHECKPOINT_EVERY). */
    private readonly every: number,
  ) {}

  /**
   * Under the chain lock, after an append: signs a checkpoint at every appended event that is
   * `every` events after the previous checkpoint, so checkpoints fall every N events however
   * deliveries were grouped.
   */
  async afterAppend(
    tx: EntityManager,
    appended: readonly { seq: number; hash: string }[],
    lastCheckpointSeq: number,
    now: string,
  ): Promise<Checkpoint[]> {
    const due: Checkpoint[] = [];
    let last = lastCheckpointSeq;
    for (const event of appended) {
      if (event.seq - last < this.every) continue;
      due.push(this.signer.sign(event.seq, event.hash, now));
      last = event.seq;
    }
    if (due.length > 0) await insert(tx, due);
    return due;
  }

  /** Signs the head if any event came after the last checkpoint (the CHECKPOINT_SECONDS timer). */
  async checkpointNow(em: EntityManager): Promise<Checkpoint | null> {
    return em.transactional(async (tx) => {
      await lockChain(tx);
      const head = await readHead(tx);
      return head.seq > head.lastCheckpointSeq ? this.store(tx, head) : null;
    });
  }

  private async store(tx: EntityManager, head: { seq: number; hash: string; now: string }): Promise<Checkpoint> {
    const checkpoint = this.signer.sign(head.seq, head.hash, head.now);
    await insert(tx, [checkpoint]);
    return checkpoint;
  }
}

async function insert(tx: EntityManager, checkpoints: readonly Checkpoint[]): Promise<void> {
  await query(
    tx,
    `insert into "audit"."checkpoints" ("seq", "hash", "signed_at", "key_id", "signature")
     values ${checkpoints.map(() => '(?, ?, ?::timestamptz, ?, ?)').join(', ')}`,
    checkpoints.flatMap((c) => [c.seq, c.hash, c.signedAt, c.keyId, c.signature]),
  );
}
