// Unexpected errors reach clients as INTERNAL_SERVER_ERROR with no stack; coded errors keep their code.
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { AppError, formatError } from './errors';

const format = formatError;

describe('formatError', () => {
  it('masks a thrown Error, keeping only the path', () => {
    const wrapped = new GraphQLError('connect ECONNREFUSED 10.0.0.1:5432', {
      path: ['me'],
      originalError: new Error('connect ECONNREFUSED 10.0.0.1:5432'),
    });
    const out = format({ message: wrapped.message, path: ['me'], extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] } }, wrapped);
    expect(out).toEqual({ message: 'Internal server error', path: ['me'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });

  it('keeps an AppError code even when Apollo re-coded it', () => {
    const original = new AppError('MAX_DEPTH_LIMIT', 'too deep');
    const wrapped = new GraphQLError('too deep', { originalError: original });
    const out = format({ message: 'too deep', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }, wrapped);
    expect(out.extensions?.code).toBe('MAX_DEPTH_LIMIT');
  });

  it('masks a GraphQLError that carries no code', () => {
    const out = format({ message: 'DateTime cannot represent an invalid date' }, new GraphQLError('DateTime cannot represent an invalid date'));
    expect(out.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
  });

  it('drops upstream details (a subgraph response, its URL and body) from a coded error', () => {
    const out = format(
      { message: 'x', extensions: { code: 'SUBREQUEST_HTTP_ERROR', response: { url: 'http://10.0.0.1/graphql', body: 'secret' } } },
      new GraphQLError('x', { extensions: { code: 'SUBREQUEST_HTTP_ERROR' } }),
    );
    expect(out.extensions).toEqual({ code: 'SUBREQUEST_HTTP_ERROR' });
  });

  it('passes a coded error relayed from a subgraph through unchanged', () => {
    const relayed = { message: 'taken', extensions: { code: 'EMAIL_TAKEN' } };
    const out = format({ message: 'taken', extensions: { code: 'EMAIL_TAKEN', stacktrace: ['x'] } }, new GraphQLError('taken', { originalError: relayed as unknown as Error }));
    expect(out).toEqual({ message: 'taken', extensions: { code: 'EMAIL_TAKEN' } });
  });
});
