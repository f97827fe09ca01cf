import type { ApolloGateway } from '@apollo/gateway';
import { createLogger } from '@citadel/kit/logger';
import type { ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { SubscriptionRelay, type SubscriptionRelayOptions } from './relay';
import type { UpstreamConnections } from './upstream';

function relay(completionReuseMs?: number): SubscriptionRelay {
  const options: SubscriptionRelayOptions = {
    gateway: { onSchemaLoadOrUpdate: () => () => undefined } as unknown as ApolloGateway,
    authorizing: undefined,
    upstream: {} as UpstreamConnections,
    withPermissions: async (caller) => caller,
    endedReason: () => undefined,
    validationRules: [],
    logger: createLogger('test', 'silent'),
    queueLimit: 10,
    ...(completionReuseMs !== undefined ? { completionReuseMs } : {}),
  };
  return new SubscriptionRelay(options);
}

function counting() {
  let runs = 0;
  const complete = async (): Promise<ExecutionResult> => {
    runs++;
    await new Promise((r) => setTimeout(r, 5));
    return { data: { runs } };
  };
  return { complete, runs: () => runs };
}

describe('SubscriptionRelay.completion', () => {
  it('completes one upstream event once for a group of subscribers, and once per group', async () => {
    const subject = relay();
    const event: ExecutionResult = { data: { todoEvents: { type: 'CREATED' } } };
    const { complete, runs } = counting();
    const group = await Promise.all(Array.from({ length: 50 }, () => subject.completion(event, 'user 1', complete)));
    expect(runs()).toBe(1);
    expect(new Set(group).size).toBe(1);
    const other = await subject.completion(event, 'user 2', complete);
    expect(runs()).toBe(2);
    expect(other).not.toBe(group[0]);
  });

  it('never hands one event’s completion to another event', async () => {
    const subject = relay();
    const { complete, runs } = counting();
    await subject.completion({ data: { n: 1 } }, 'user 1', complete);
    await subject.completion({ data: { n: 1 } }, 'user 1', complete);
    expect(runs()).toBe(2);
  });

  it('completes an event afresh for a subscriber that reaches it after the reuse window', async () => {
    const subject = relay(20);
    const event: ExecutionResult = { data: {} };
    const { complete, runs } = counting();
    await subject.completion(event, 'user 1', complete);
    await subject.completion(event, 'user 1', complete);
    expect(runs()).toBe(1);
    await new Promise((r) => setTimeout(r, 40));
    await subject.completion(event, 'user 1', complete);
    expect(runs()).toBe(2);
  });
});
