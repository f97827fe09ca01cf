// Retention against real PostgreSQL and a real folder: events past AUDIT_RETENTION_DAYS are written
// to NDJSON with their checkpoints, fsynced, and removed up to the last checkpoint before the
// cutoff; the kept chain still verifies from its first event, and the file verifies on its own.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { canonicalEvent, GENESIS_HASH, type StoredEvent } from './chain/canonical';
import type { Checkpoint } from './chain/checkpoint';
import { RetentionService } from './retention/retention.service';
import { auditEvent, useAudit } from './testing/audit-harness';

const audit = useAudit({ checkpointEvery: 10, retentionDays: 30 });
const DAYS_31 = 31 * 86_400_000;

async function deliver(count: number): Promise<void> {
  for (let i = 0; i < count; i += 5) {
    expect((await audit.deliver(Array.from({ length: Math.min(5, count - i) }, () => auditEvent()))).status).toBe(200);
  }
}

async function seqs(table: 'events' | 'checkpoints'): Promise<number[]> {
  return audit.sql(async (c) => (await c.query<{ seq: string }>(`select seq from audit.${table} order by seq`)).rows.map((r) => Number(r.seq)));
}

function readExport(file: string): { events: StoredEvent[]; checkpoints: Checkpoint[]; kinds: string[] } {
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { kind: string });
  const strip = <T>(line: { kind: string }) => {
    const { kind: _kind, ...rest } = line;
    return rest as T;
  };
  return {
    kinds: lines.map((l) => l.kind),
    events: lines.filter((l) => l.kind === 'event').map((l) => strip<StoredEvent>(l)),
    checkpoints: lines.filter((l) => l.kind === 'checkpoint').map((l) => strip<Checkpoint>(l)),
  };
}

describe('retention', () => {
  it('does nothing while no checkpointed event is past the cutoff', async () => {
    await deliver(25); // checkpoints at 10 and 20
    expect(await audit.app.retention.run(audit.em())).toMatchObject({ status: 'NOTHING_TO_DO' });
    expect(await seqs('events')).toHaveLength(25);
  });

  it('exports and removes events up to the last checkpoint before the cutoff; the chain still verifies', async () => {
    const later = new Date(Date.now() + DAYS_31);
    const live = audit.app.feed.open({ service: 'audit' });
    const run = await audit.app.retention.run(audit.em(), later);
    expect(run).toMatchObject({ status: 'DONE', fromSeq: 1, throughSeq: 20, removed: 20 });
    if (run.status !== 'DONE') return;
    // Announced once its transaction committed, like any ingested event: live subscribers see it.
    expect((await live.next()).value).toMatchObject({ seq: 26, action: 'audit.events.pruned' });
    await live.return();

    // 21..25 stay; the run itself was recorded as event 26. Checkpoint 20 stays: it vouches for 21.
    expect(await seqs('events')).toEqual([21, 22, 23, 24, 25, 26]);
    expect(await seqs('checkpoints')).toEqual([20]);
    const recorded = await audit.sql(async (c) => (await c.query('select action, service, changes from audit.events where seq = 26')).rows[0]);
    expect(recorded).toMatchObject({ action: 'audit.events.pruned', service: 'audit', changes: { after: { fromSeq: 1, throughSeq: 20, removed: 20 } } });

    expect(await audit.app.verifier.verify(audit.em())).toMatchObject({ ok: true, fromSeq: 21, toSeq: 26, checked: 6, checkpointsChecked: 1 });
    expect(await audit.app.verifier.verify(audit.em(), { fromSeq: 1 })).toMatchObject({ ok: true, fromSeq: 21 });

    // The file: events then checkpoints, verifiable on its own from the genesis.
    const file = readExport(run.file);
    expect(file.kinds).toEqual([...Array<string>(20).fill('event'), 'checkpoint', 'checkpoint']);
    expect(file.events.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(file.checkpoints.map((c) => c.seq)).toEqual([10, 20]);
    let prev = GENESIS_HASH;
    for (const event of file.events) {
      expect(event.prevHash).toBe(prev);
      expect(createHash('sha256').update(prev + canonicalEvent(event)).digest('hex')).toBe(event.hash);
      prev = event.hash;
    }
    for (const checkpoint of file.checkpoints) {
      expect(audit.app.checkpoints.signer.verify(checkpoint)).toBe(true);
      expect(checkpoint.hash).toBe(file.events[checkpoint.seq - 1]!.hash);
    }
    expect(readdirSync(audit.exportDir)).toEqual(['audit-1-20.ndjson']);
  });

  it('keeps the chain going after removal, and a second run starts its file at the kept checkpoint', async () => {
    await deliver(15); // 27..41: checkpoints at 30 and 40
    expect(await seqs('checkpoints')).toEqual([20, 30, 40]);
    expect(await audit.app.verifier.verify(audit.em())).toMatchObject({ ok: true, fromSeq: 21, toSeq: 41 });
    const run = await audit.app.retention.run(audit.em(), new Date(Date.now() + DAYS_31));
    expect(run).toMatchObject({ status: 'DONE', fromSeq: 21, throughSeq: 40, removed: 20 });
    if (run.status !== 'DONE') return;
    const file = readExport(run.file);
    // The checkpoint anchoring the file's first event (20) comes along, so the file verifies alone.
    expect(file.checkpoints.map((c) => c.seq)).toEqual([20, 30, 40]);
    expect(file.events[0]!.prevHash).toBe(file.checkpoints[0]!.hash);
    // Event 41 (after the last checkpoint) and this run's own record (42) stay, vouched for by checkpoint 40.
    expect(await seqs('events')).toEqual([41, 42]);
    expect(await seqs('checkpoints')).toEqual([40]);
    expect(await audit.app.verifier.verify(audit.em())).toMatchObject({ ok: true, fromSeq: 41, checked: 2 });
    expect(readdirSync(audit.exportDir).sort()).toEqual(['audit-1-20.ndjson', 'audit-21-40.ndjson']);
  });

  // Threat: retention used to destroy the evidence of tampering.
  it('refuses to remove events that no longer verify', async () => {
    await deliver(10); // 43..52, checkpoint at 50
    await audit.sql(async (client) => {
      await client.query('begin');
      await client.query('set local session_replication_role = replica');
      await client.query(`update audit.events set reason = 'edited' where seq = 45`);
      await client.query('commit');
      try {
        const before = await seqs('events');
        const run = await audit.app.retention.run(audit.em(), new Date(Date.now() + DAYS_31));
        expect(run).toMatchObject({ status: 'REFUSED', verification: { ok: false, firstBrokenSeq: 45, reason: 'HASH_MISMATCH' } });
        expect(await seqs('events')).toEqual(before);
      } finally {
        await client.query('begin');
        await client.query('set local session_replication_role = replica');
        await client.query('update audit.events set reason = null where seq = 45');
        await client.query('commit');
      }
    });
    expect((await audit.app.verifier.verify(audit.em())).ok).toBe(true);
  });

  it('is off with 0 days', async () => {
    const off = new RetentionService({ days: 0, exportDir: audit.exportDir }, audit.app.verifier, audit.app.ingest, { info: () => undefined, error: () => undefined } as never);
    expect(await off.run(audit.em(), new Date(Date.now() + 100 * DAYS_31))).toEqual({ status: 'DISABLED', cutoff: null });
  });
});
