// The built subgraph schema keeps auditEventRecorded's own `subscribe` and `resolve` (type-graphql ->
// resolver map -> buildSubgraphSchema), and its guard reaches the SDL that composition reads.
import 'reflect-metadata';
import { printSubgraphSchema } from '@apollo/subgraph';
import { sdlOnlyServices } from '@citadel/kit/federation';
import { MemoryPubSub } from '@citadel/kit/pubsub';
import { parse, subscribe, type ExecutionResult } from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from './chain/canonical';
import { RecordedEventFeed } from './events/recorded-feed';
import { buildAuditSchema, type AuditServices } from './schema';

const event: StoredEvent = {
  seq: 7,
  id: '00000000-0000-4000-8000-000000000007',
  occurredAt: '2026-01-01T00:00:00.000000Z',
  recordedAt: '2026-01-01T00:00:01.000000Z',
  service: 'identity',
  actorType: 'user',
  actorId: 'u-1',
  actorSessionId: 's-1',
  action: 'identity.login.succeeded',
  targetType: 'User',
  targetId: 'u-1',
  outcome: 'success',
  reason: null,
  ip: '203.0.113.7',
  userAgent: null,
  requestId: null,
  traceId: null,
  operationName: null,
  changes: null,
  prevHash: '0'.repeat(64),
  hash: 'a'.repeat(64),
};

describe('the audit schema', () => {
  it('keeps the subscribe function of auditEventRecorded, and runs it with the feed from the context', async () => {
    const schema = await buildAuditSchema(sdlOnlyServices<AuditServices>());
    const field = schema.getSubscriptionType()?.getFields().auditEventRecorded;
    expect(typeof field?.subscribe).toBe('function');
    expect(typeof field?.resolve).toBe('function');

    const feed = new RecordedEventFeed({ pubsub: new MemoryPubSub(), load: async () => [], logger: pino({ level: 'silent' }) });
    const stream = (await subscribe({
      schema,
      document: parse('subscription { auditEventRecorded(filter: { outcome: SUCCESS }) { seq action actor { id user { id } } ip hash } }'),
      contextValue: { recorded: feed },
    })) as AsyncIterableIterator<ExecutionResult>;
    expect(feed.size).toBe(1);
    feed.dispatch([{ ...event, seq: 6, outcome: 'failure' }, event]);
    expect(await stream.next()).toEqual({
      done: false,
      value: { data: { auditEventRecorded: { seq: 7, action: 'identity.login.succeeded', actor: { id: 'u-1', user: { id: 'u-1' } }, ip: '203.0.113.7', hash: 'a'.repeat(64) } } },
    });
    await stream.return?.();
    expect(feed.size).toBe(0);
  });

  it('guards auditEventRecorded like auditEvents in the SDL', async () => {
    const sdl = printSubgraphSchema(await buildAuditSchema(sdlOnlyServices<AuditServices>()));
    expect(sdl).toContain('auditEventRecorded(filter: AuditEventRecordedFilter): AuditEvent! @requiresScopes(scopes: [["audit.event.read"]])');
    expect(sdl).toMatch(/auditEvents\([^)]*\): AuditEventConnection! @requiresScopes\(scopes: \[\["audit.event.read"\]\]\)/);
  });
});
