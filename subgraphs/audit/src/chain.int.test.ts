// Tamper evidence against real PostgreSQL. Threat: someone with database access edits, removes or
// reorders trail entries, or forges checkpoints, to hide what happened. Each test tampers with
// direct SQL (lifting the append-only trigger the only way it can be lifted, as a superuser in
// replica mode), checks verifyAuditChain names the first broken sequence, then undoes the change
// and checks the chain verifies again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { generateSigningKey } from '@citadel/kit/keys';
import { chainHash, type StoredEvent } from './chain/canonical';
import { CheckpointSigner } from './chain/checkpoint';
import { EVENT_COLUMNS, toStoredEvent, type EventRow } from './events/event.row';
import { query } from './sql';
import { auditEvent, useAudit, userCaller } from './testing/audit-harness';

const audit = useAudit({ checkpointEvery: 100 });
const TOTAL = 250;

/** Runs statements in one transaction with the append-only trigger lifted. */
async function tamper(client: pg.Client, ...statements: string[]): Promise<void> {
  await client.query('begin');
  try {
    await client.query('set local session_replication_role = replica');
    for (const statement of statements) await client.query(statement);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
}

/** Event 137 edited and every later hash recomputed, as someone hiding the edit would. */
async function rewriteFrom137(): Promise<{ rows: StoredEvent[]; forged: StoredEvent[] }> {
  const rows = (await query<EventRow>(audit.em(), `select ${EVENT_COLUMNS} from audit.events where seq >= 136 order by seq`)).map(toStoredEvent);
  const forged: StoredEvent[] = [];
  let prev = rows[0]!.hash;
  for (const event of rows.slice(1)) {
    const changed = event.seq === 137 ? { ...event, action: 'identity.login.failed' } : event;
    const hash = chainHash(prev, changed);
    forged.push({ ...changed, prevHash: prev, hash });
    prev = hash;
  }
  return { rows: rows.slice(1), forged };
}

const write = (events: StoredEvent[]) =>
  events.map((e) => `update audit.events set action = '${e.action}', prev_hash = '${e.prevHash}', hash = '${e.hash}' where seq = ${e.seq}`);

const verify = (range: { fromSeq?: number; toSeq?: number } = {}) => audit.app.verifier.verify(audit.em(), range);

beforeAll(async () => {
  for (let i = 0; i < TOTAL; i += 50) {
    const res = await audit.deliver(
      Array.from({ length: 50 }, (_, j) =>
        auditEvent({ reason: `r${i + j}`, changes: { before: { n: i + j, nested: { z: 1, a: [1, 'two', null] } }, after: { n: i + j + 1 } } }),
      ),
    );
    expect(res.status).toBe(200);
  }
  // Checkpoints at 100 and 200 (CHECKPOINT_EVERY) and at the head (the timer).
  expect((await audit.app.checkpoints.checkpointNow(audit.em()))?.seq).toBe(TOTAL);
});

afterAll(async () => {
  // Every test undid its tampering (the last one appended more).
  const result = await verify();
  expect(result).toMatchObject({ ok: true });
  expect(result.checked).toBeGreaterThanOrEqual(TOTAL);
});

describe('an untouched chain', () => {
  it('verifies every event and checkpoint', async () => {
    const started = performance.now();
    const result = await verify();
    const ms = performance.now() - started;
    console.log(`verification: ${result.checked} events in ${ms.toFixed(1)} ms`);
    expect(result).toEqual({
      ok: true,
      checked: TOTAL,
      checkpointsChecked: 3,
      fromSeq: 1,
      toSeq: TOTAL,
      firstBrokenSeq: null,
      reason: null,
      detail: null,
    });
  });

  it('verifies a range from the nearest checkpoint before it', async () => {
    expect(await verify({ fromSeq: 150, toSeq: 180 })).toMatchObject({ ok: true, checked: 80, checkpointsChecked: 1, fromSeq: 150, toSeq: 180 });
    expect(await verify({ fromSeq: 1, toSeq: 10 })).toMatchObject({ ok: true, checked: 10, checkpointsChecked: 0 });
  });
});

describe('tampering', () => {
  it('detects an edited field as HASH_MISMATCH at that seq', async () => {
    await audit.sql(async (client) => {
      const original = (await client.query('select action from audit.events where seq = 137')).rows[0].action as string;
      await tamper(client, `update audit.events set action = 'identity.login.failed' where seq = 137`);
      try {
        expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: 137, reason: 'HASH_MISMATCH', checked: 136 });
        // Outside the edited stretch a range still verifies; a range after it walks from checkpoint 100, so it sees it.
        expect((await verify({ fromSeq: 1, toSeq: 99 })).ok).toBe(true);
        expect(await verify({ fromSeq: 150, toSeq: 180 })).toMatchObject({ ok: false, firstBrokenSeq: 137 });
        expect((await verify({ fromSeq: 201 })).ok).toBe(true);
      } finally {
        await tamper(client, `update audit.events set action = '${original}' where seq = 137`);
      }
    });
  });

  it.each([
    ['a microsecond of occurred_at', `occurred_at = occurred_at + interval '1 microsecond'`],
    ['a value deep inside changes', `changes = jsonb_set(changes, '{before,nested,z}', '2')`],
    ['a null field made non-null', `trace_id = 'injected'`],
    ['the event id', `id = gen_random_uuid()`],
  ])('detects %s changed', async (_label, assignment) => {
    await audit.sql(async (client) => {
      await tamper(client, 'create temp table saved as select * from audit.events where seq = 60', `update audit.events set ${assignment} where seq = 60`);
      try {
        expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: 60, reason: 'HASH_MISMATCH' });
      } finally {
        await tamper(client, 'delete from audit.events where seq = 60', 'insert into audit.events select * from saved', 'drop table saved');
      }
    });
  });

  it('detects a deleted event as SEQUENCE_GAP naming it', async () => {
    await audit.sql(async (client) => {
      await tamper(client, 'create temp table saved as select * from audit.events where seq = 42', 'delete from audit.events where seq = 42');
      try {
        expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: 42, reason: 'SEQUENCE_GAP', checked: 41 });
      } finally {
        await tamper(client, 'insert into audit.events select * from saved', 'drop table saved');
      }
    });
  });

  it('detects a removed first event, and events removed from the end before a checkpoint', async () => {
    await audit.sql(async (client) => {
      await tamper(client, 'create temp table saved as select * from audit.events where seq = 1 or seq > 240', 'delete from audit.events where seq = 1');
      try {
        expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: 1, reason: 'SEQUENCE_GAP' });
        await tamper(client, 'insert into audit.events select * from saved where seq = 1', 'delete from audit.events where seq > 240');
        // Checkpoint 250 covers events that are gone.
        expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: 241, reason: 'SEQUENCE_GAP' });
      } finally {
        await tamper(client, 'delete from audit.events where seq = 1 or seq > 240', 'insert into audit.events select * from saved', 'drop table saved');
      }
    });
  });

  it('detects two events swapped (reordered) at the first of them', async () => {
    const swap = [
      'update audit.events set seq = 999999 where seq = 10',
      'update audit.events set seq = 10 where seq = 20',
      'update audit.events set seq = 20 where seq = 999999',
    ];
    await audit.sql(async (client) => {
      await tamper(client, ...swap);
      try {
        expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: 10, reason: 'HASH_MISMATCH' });
      } finally {
        await tamper(client, ...swap);
      }
    });
  });

  it('catches an edit whose every later hash was recomputed at the next checkpoint (CHECKPOINT_MISMATCH)', async () => {
    const { rows, forged } = await rewriteFrom137();
    await audit.sql(async (client) => {
      await tamper(client, ...write(forged));
      try {
        expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: 200, reason: 'CHECKPOINT_MISMATCH' });
      } finally {
        await tamper(client, ...write(rows));
      }
    });
  });

  // Threat: the checkpoints that would catch a rewrite are deleted along with it.
  it('catches a rewrite whose checkpoints were deleted too (MISSING_CHECKPOINT)', async () => {
    const { rows, forged } = await rewriteFrom137();
    await audit.sql(async (client) => {
      await tamper(client, 'create temp table saved_cp as select * from audit.checkpoints where seq > 100', 'delete from audit.checkpoints where seq > 100', ...write(forged));
      try {
        expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: 200, reason: 'MISSING_CHECKPOINT' });
      } finally {
        await tamper(client, ...write(rows), 'insert into audit.checkpoints select * from saved_cp', 'drop table saved_cp');
      }
    });
  });

  it('detects a forged checkpoint signature, and a checkpoint signed with another key', async () => {
    await audit.sql(async (client) => {
      const { signature, key_id: keyId } = (await client.query('select signature, key_id from audit.checkpoints where seq = 100')).rows[0];
      const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
      await tamper(client, `update audit.checkpoints set signature = '${flipped}' where seq = 100`);
      try {
        expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: 100, reason: 'BAD_CHECKPOINT_SIGNATURE' });
        // As the anchor of a later range too.
        expect(await verify({ fromSeq: 150 })).toMatchObject({ ok: false, firstBrokenSeq: 100, reason: 'BAD_CHECKPOINT_SIGNATURE' });
      } finally {
        await tamper(client, `update audit.checkpoints set signature = '${signature}' where seq = 100`);
      }
      const hash = (await client.query('select hash from audit.checkpoints where seq = 200')).rows[0].hash as string;
      const other = new CheckpointSigner(await generateSigningKey()).sign(200, hash, '2026-01-01T00:00:00.000000Z');
      const original = (await client.query(`select signed_at::text as signed_at, key_id, signature from audit.checkpoints where seq = 200`)).rows[0];
      await tamper(client, `update audit.checkpoints set key_id = '${other.keyId}', signature = '${other.signature}', signed_at = '${other.signedAt}' where seq = 200`);
      try {
        expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: 200, reason: 'BAD_CHECKPOINT_SIGNATURE' });
      } finally {
        await client.query('begin');
        await client.query('set local session_replication_role = replica');
        await client.query('update audit.checkpoints set key_id = $1, signature = $2, signed_at = $3 where seq = 200', [
          original.key_id,
          original.signature,
          original.signed_at,
        ]);
        await client.query('commit');
      }
      expect(keyId).toBe(audit.key.kid);
    });
  });
});

describe('the append-only trigger', () => {
  // Threat: an operator or a compromised service role quietly rewrites history.
  it('refuses UPDATE, DELETE and TRUNCATE of events and checkpoints, even for a superuser', async () => {
    await audit.sql(async (client) => {
      expect((await client.query('select rolsuper from pg_roles where rolname = current_user')).rows[0].rolsuper).toBe(true);
      for (const statement of [
        `update audit.events set reason = 'x' where seq = 5`,
        'delete from audit.events where seq = 5',
        'truncate audit.events cascade',
        `update audit.checkpoints set hash = hash where seq = 100`,
        'delete from audit.checkpoints where seq = 100',
        'truncate audit.checkpoints',
      ]) {
        await expect(client.query(statement), statement).rejects.toThrow(/append-only/);
      }
    });
  });

  it('refuses a prune that no checkpoint vouches for, and a forged prune setting beyond its bound', async () => {
    await audit.sql(async (client) => {
      await expect(client.query('select audit.prune_through(42)')).rejects.toThrow(/no checkpoint/);
      await client.query('begin');
      try {
        await client.query(`select set_config('audit.prune_through', '100', true)`);
        await expect(client.query('delete from audit.events where seq = 150')).rejects.toThrow(/append-only/);
      } finally {
        await client.query('rollback');
      }
    });
  });
});

describe('verifyAuditChain over GraphQL', () => {
  it('answers with audit.chain.verify and is refused without it', async () => {
    const query = '{ verifyAuditChain(fromSeq: 1, toSeq: 20) { ok checked checkpointsChecked firstBrokenSeq reason } }';
    const allowed = await audit.call(query, { caller: userCaller(['audit.chain.verify']) });
    expect(allowed.body).toEqual({ data: { verifyAuditChain: { ok: true, checked: 20, checkpointsChecked: 0, firstBrokenSeq: null, reason: null } } });
    const refused = await audit.call(query, { caller: userCaller(['audit.event.read']) });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    const backwards = await audit.call('{ verifyAuditChain(fromSeq: 20, toSeq: 1) { ok } }', { caller: userCaller(['audit.chain.verify']) });
    expect(backwards.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('reports the break reason as an enum value', async () => {
    await audit.sql(async (client) => {
      await tamper(client, 'create temp table saved as select * from audit.events where seq = 7', 'delete from audit.events where seq = 7');
      try {
        const res = await audit.call<{ verifyAuditChain: unknown }>('{ verifyAuditChain { ok firstBrokenSeq reason detail } }', {
          caller: userCaller(['audit.chain.verify']),
        });
        expect(res.body.data?.verifyAuditChain).toEqual({ ok: false, firstBrokenSeq: 7, reason: 'SEQUENCE_GAP', detail: 'no event with seq 7 (the next stored is 8)' });
      } finally {
        await tamper(client, 'insert into audit.events select * from saved', 'drop table saved');
      }
    });
  });
});

// Last: it appends events, so the tests above can count on the 250 they were given.
describe('verification under load', () => {
  it('verifies one snapshot while events keep arriving', async () => {
    const writing = (async () => {
      for (let i = 0; i < 10; i++) await audit.deliver(Array.from({ length: 20 }, () => auditEvent()));
    })();
    const results = await Promise.all([verify(), verify(), writing.then(() => verify())]);
    for (const result of results) expect(result).toMatchObject({ ok: true, firstBrokenSeq: null });
  });
});
