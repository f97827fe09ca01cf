// The soak (`npm run soak`, 30 minutes) as a smoke run: 30 s of the same mixed traffic through two
// gateways, so the script cannot rot. Memory growth over 30 s says nothing (the heap is still
// warming up), so only the traffic is checked here; the full run checks growth.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SoakResults } from '../bench/soak';

let results: SoakResults;
const saved = { ...process.env };

beforeAll(async () => {
  Object.assign(process.env, { SOAK_SECONDS: '30', SOAK_SAMPLE_SECONDS: '2', SOAK_SUBSCRIBERS: '10', SOAK_RESUBSCRIBE_SECONDS: '10' });
  const { soak } = await import('../bench/soak');
  results = await soak();
}, 240_000);
afterAll(() => {
  process.env = saved;
});

describe('soak, smoke run', () => {
  it('sends every kind of request through both gateways with no unexpected failure', () => {
    expect(results.unexpected).toEqual({});
    for (const operation of ['read', 'me', 'createTodo', 'completeTodo', 'deleteTodo', 'login']) {
      expect(results.requests[operation], operation).toBeGreaterThan(0);
    }
  });

  it('keeps subscribers coming and going, and their events arrive', () => {
    expect(results.resubscriptions).toBeGreaterThan(5);
    expect(results.subscriptionEvents).toBeGreaterThan(0);
  });

  it('samples memory and descriptors of every service throughout', () => {
    expect(results.samples.length).toBeGreaterThan(5);
    for (const sample of results.samples) {
      expect(Object.keys(sample.processes).sort()).toEqual(['audit', 'authz', 'gateway-1', 'gateway-2', 'identity', 'workspaces']);
      for (const p of Object.values(sample.processes)) {
        expect(p.rssMib).toBeGreaterThan(20);
        expect(p.heapMib).toBeGreaterThan(5);
      }
    }
  });
});
