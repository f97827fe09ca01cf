// Per-operation series stay bounded: names come from parsed documents, and only so many become labels.
import { ApolloServer } from '@apollo/server';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { OperationMetrics } from './operation-metrics';

async function serverWith(metrics: OperationMetrics) {
  const registry = new Registry();
  metrics.useMetrics(registry);
  const apollo = new ApolloServer({
    typeDefs: 'type Query { hello: String, broken: String }',
    resolvers: { Query: { hello: () => 'world', broken: () => { throw new Error('no'); } } },
    plugins: [metrics.plugin()],
  });
  await apollo.start();
  const run = (query: string) => apollo.executeOperation({ query });
  const count = async (labels: Record<string, string>) => {
    const metric = await registry.getSingleMetric('citadel_graphql_operations_total')!.get();
    return metric.values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((n, v) => n + v.value, 0);
  };
  return { apollo, run, count, registry };
}

describe('OperationMetrics', () => {
  it('counts by operation name and outcome; unnamed is anonymous, unparsable is unresolved', async () => {
    const { apollo, run, count, registry } = await serverWith(new OperationMetrics());
    await run('query Hello { hello }');
    await run('query Hello { hello }');
    await run('{ hello }');
    await run('query Broken { broken }');
    await run('query {');
    expect(await count({ operation: 'Hello', type: 'query', outcome: 'ok' })).toBe(2);
    expect(await count({ operation: 'anonymous', type: 'query', outcome: 'ok' })).toBe(1);
    expect(await count({ operation: 'Broken', outcome: 'error' })).toBe(1);
    expect(await count({ operation: 'unresolved', type: 'unknown', outcome: 'error' })).toBe(1);
    expect(await registry.metrics()).toMatch(/citadel_graphql_operation_duration_seconds_count\{operation="Hello",type="query"\} 2/);
    await apollo.stop();
  });

  it('counts names past the limit as other, so a client cannot grow the series without end', async () => {
    const { apollo, run, count } = await serverWith(new OperationMetrics({ maxOperationNames: 2 }));
    for (const name of ['A', 'B', 'C', 'D', 'A']) await run(`query ${name} { hello }`);
    expect(await count({ operation: 'A' })).toBe(2);
    expect(await count({ operation: 'B' })).toBe(1);
    expect(await count({ operation: 'other' })).toBe(2);
    await apollo.stop();
  });

  it('rejects a limit that is not a positive integer when it is built', () => {
    expect(() => new OperationMetrics({ maxOperationNames: 0 })).toThrow(/maxOperationNames must be a positive integer/);
  });
});
