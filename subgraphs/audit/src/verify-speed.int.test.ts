// A longer chain (20,000 events): ingestion and verification speed, verification across its
// 5,000-row batches, and the export's 10,000-event limit.
import { beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '@citadel/kit/testing/graphql-client';
import { auditEvent, useAudit, userCaller } from './testing/audit-harness';

const audit = useAudit({ checkpointEvery: 1_000 });
const TOTAL = 20_000;
const BATCH = 500;

beforeAll(async () => {
  const started = performance.now();
  // Four producers at a time, 500 events per delivery.
  for (let i = 0; i < TOTAL; i += BATCH * 4) {
    const deliveries = await Promise.all(
      Array.from({ length: 4 }, (_, d) =>
        audit.deliver(Array.from({ length: BATCH }, (_, j) => auditEvent({ reason: `n${i + d * BATCH + j}`, changes: { before: { step: j }, after: { step: j + 1 } } }))),
      ),
    );
    expect(deliveries.every((r) => r.status === 200)).toBe(true);
  }
  const ms = performance.now() - started;
  console.log(`ingestion: ${TOTAL} events in deliveries of ${BATCH} (4 at a time) took ${ms.toFixed(0)} ms (${Math.round(TOTAL / (ms / 1000))} events/s)`);
}, 120_000);

describe('a 20,000-event chain', () => {
  it('verifies, and says how fast', async () => {
    const started = performance.now();
    const result = await audit.app.verifier.verify(audit.em());
    const ms = performance.now() - started;
    console.log(`verification: ${result.checked} events and ${result.checkpointsChecked} checkpoints in ${ms.toFixed(0)} ms (${Math.round(result.checked / (ms / 1000))} events/s)`);
    expect(result).toMatchObject({ ok: true, checked: TOTAL, checkpointsChecked: TOTAL / 1_000, firstBrokenSeq: null });
  });

  it.each([5_000, 5_001, 10_000])('finds an event removed at the batch edge %i', async (seq) => {
    await audit.sql(async (client) => {
      await client.query('begin');
      await client.query('set local session_replication_role = replica');
      await client.query(`create temp table saved on commit preserve rows as select * from audit.events where seq = ${seq}`);
      await client.query(`delete from audit.events where seq = ${seq}`);
      await client.query('commit');
      try {
        expect(await audit.app.verifier.verify(audit.em())).toMatchObject({ ok: false, firstBrokenSeq: seq, reason: 'SEQUENCE_GAP' });
      } finally {
        await client.query('insert into audit.events select * from saved');
        await client.query('drop table saved');
      }
    });
    expect((await audit.app.verifier.verify(audit.em(), { fromSeq: seq - 1, toSeq: seq + 1 })).ok).toBe(true);
  });

  it('refuses an export of more than 10,000 events with BAD_USER_INPUT, and exports a narrower range', async () => {
    const reader = userCaller(['audit.event.read']);
    const EXPORT = 'query($from: DateTime!, $to: DateTime!) { auditExport(from: $from, to: $to) }';
    const all = { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };
    const tooMany = await audit.call(EXPORT, { caller: reader, variables: all });
    expect(errorCode(tooMany)).toBe('BAD_USER_INPUT');
    expect(tooMany.body.errors?.[0]?.extensions).toMatchObject({ max: 10_000, count: TOTAL });

    const [first, last] = await audit.sql(async (c) => {
      const { rows } = await c.query<{ t: string }>(`select occurred_at::text as t from audit.events where seq in (1, 3000) order by seq`);
      return rows.map((r) => r.t);
    });
    const some = await audit.call<{ auditExport: string }>(EXPORT, { caller: reader, variables: { from: new Date(first!).toISOString(), to: new Date(last!).toISOString() } });
    expect(some.body.errors).toBeUndefined();
    const events = some.body.data!.auditExport.split('\n').filter((l) => l.includes('"kind":"event"'));
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThanOrEqual(10_000);
  });
});
