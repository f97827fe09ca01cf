// What counts as the database being unavailable, and what does not (see db-limits.int.test.ts for real ones).
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { databaseFault } from './database-faults';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('databaseFault', () => {
  it('names the database errors by their code or message, also under a GraphQL error', () => {
    expect(databaseFault(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe('DATABASE_UNAVAILABLE');
    expect(databaseFault(withCode('terminating connection due to administrator command', '57P01'))).toBe('DATABASE_UNAVAILABLE');
    expect(databaseFault(withCode('canceling statement due to statement timeout', '57014'))).toBe('DATABASE_TIMEOUT');
    expect(databaseFault(new Error('select 1 - Connection terminated unexpectedly'))).toBe('DATABASE_UNAVAILABLE');
    const wrapped = new GraphQLError('x', { originalError: new Error('Knex: Timeout acquiring a connection. The pool is probably full.') });
    expect(databaseFault(wrapped)).toBe('DATABASE_UNAVAILABLE');
  });

  // Regression: a subgraph killed under load was reported to clients as the database being down,
  // because the gateway's subgraph error keeps the refused socket in `cause`.
  it('does not take a failed fetch or an unreachable subgraph for the database', () => {
    const fetchFailed = new TypeError('fetch failed', { cause: withCode('connect ECONNREFUSED 127.0.0.1:4002', 'ECONNREFUSED') });
    expect(databaseFault(fetchFailed)).toBeUndefined();
    const subgraph = new GraphQLError("Subgraph 'workspaces' is unavailable", { extensions: { code: 'SUBGRAPH_UNAVAILABLE' } });
    subgraph.cause = withCode('connect ECONNREFUSED 127.0.0.1:4004', 'ECONNREFUSED');
    expect(databaseFault(new GraphQLError('x', { originalError: subgraph }))).toBeUndefined();
    expect(databaseFault(withCode('duplicate key value violates unique constraint', '23505'))).toBeUndefined();
  });
});
