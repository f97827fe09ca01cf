import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Caller } from '@citadel/kit/auth';
import { describe, expect, it } from 'vitest';
import { SharedFetches } from './shared-fetches';

function counting(answer: (n: number) => unknown = (n) => ({ data: { n } })) {
  let calls = 0;
  const source: GraphQLDataSource = {
    process: async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      return answer(calls) as Awaited<ReturnType<GraphQLDataSource['process']>>;
    },
  };
  return { source, calls: () => calls };
}

const caller = (userId: string | null, permissions: string[] = [], sessionId = `s-${userId}`): Caller => ({ userId, sessionId, permissions, policies: [] });
const fetchAs = (who: Caller, query = '{ _entities { name } }', variables = { representations: [{ id: '1' }] }) =>
  ({ request: { query, variables }, context: { caller: who } }) as unknown as GraphQLDataSourceProcessOptions;

describe('SharedFetches', () => {
  it('answers identical fetches of one caller once, each with its own copy', async () => {
    const shared = new SharedFetches(new Set());
    const { source, calls } = counting();
    const wrapped = shared.wrap('workspaces', source);
    const [a, b] = await Promise.all([wrapped.process(fetchAs(caller('u1'))), wrapped.process(fetchAs(caller('u1')))]);
    expect(calls()).toBe(1);
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
  });

  it('never shares between users of a subgraph not listed as caller-independent', async () => {
    const shared = new SharedFetches(new Set(['identity']));
    const { source, calls } = counting();
    const wrapped = shared.wrap('workspaces', source);
    await Promise.all([wrapped.process(fetchAs(caller('u1'))), wrapped.process(fetchAs(caller('u2')))]);
    expect(calls()).toBe(2);
  });

  it('shares between users of a caller-independent subgraph only when their permissions and policies match', async () => {
    const shared = new SharedFetches(new Set(['identity']));
    const { source, calls } = counting();
    const wrapped = shared.wrap('identity', source);
    await Promise.all([wrapped.process(fetchAs(caller('u1'))), wrapped.process(fetchAs(caller('u2')))]);
    expect(calls()).toBe(1);
    await Promise.all([wrapped.process(fetchAs(caller('u3', ['identity.user.read']))), wrapped.process(fetchAs(caller(null)))]);
    expect(calls()).toBe(3);
  });

  it('does not share different operations or variables, nor answers older than the retention', async () => {
    const shared = new SharedFetches(new Set(), 20);
    const { source, calls } = counting();
    const wrapped = shared.wrap('identity', source);
    await wrapped.process(fetchAs(caller('u1')));
    await wrapped.process(fetchAs(caller('u1'), '{ _entities { email } }'));
    await wrapped.process(fetchAs(caller('u1'), undefined, { representations: [{ id: '2' }] }));
    expect(calls()).toBe(3);
    await new Promise((r) => setTimeout(r, 40));
    await wrapped.process(fetchAs(caller('u1')));
    expect(calls()).toBe(4);
  });

  it('does not keep a failed fetch for later callers', async () => {
    const shared = new SharedFetches(new Set());
    let fail = true;
    const source: GraphQLDataSource = {
      process: async () => {
        if (fail) throw new Error('down');
        return { data: { ok: true } } as Awaited<ReturnType<GraphQLDataSource['process']>>;
      },
    };
    const wrapped = shared.wrap('identity', source);
    await expect(wrapped.process(fetchAs(caller('u1')))).rejects.toThrow('down');
    fail = false;
    await expect(wrapped.process(fetchAs(caller('u1')))).resolves.toEqual({ data: { ok: true } });
  });
});
