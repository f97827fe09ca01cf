import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { AppError } from '@citadel/kit/errors';
import { decodeCursor, encodeCursor, mapPage, pageSize, toPage } from '@citadel/kit/connection';

const asPair = (value: unknown) =>
  Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'number'
    ? (value as [string, number])
    : null;

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof AppError ? { code: error.code, field: error.extensions.field } : error;
  }
  return undefined;
};

describe('cursors', () => {
  it('round-trip a key through an opaque base64url string', () => {
    const cursor = encodeCursor(['2026-01-02T03:04:05.123456Z', 7]);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, asPair)).toEqual(['2026-01-02T03:04:05.123456Z', 7]);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'a+b/c='],
    ['not JSON', Buffer.from('[1,').toString('base64url')],
    ['a key the parser refuses', encodeCursor({ a: 1 })],
    ['over 512 characters', encodeCursor(['x'.repeat(600), 1])],
  ])('refuses a cursor that is %s with BAD_USER_INPUT on `after`', (_label, cursor) => {
    expect(codeOf(() => decodeCursor(cursor, asPair))).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});

describe('pageSize', () => {
  it('accepts 1 to the maximum', () => {
    expect(pageSize(1)).toBe(1);
    expect(pageSize(100)).toBe(100);
    expect(pageSize(5, 5)).toBe(5);
  });

  it.each([0, -3, 101, 2.5, Number.NaN])('refuses %s with BAD_USER_INPUT on `first`', (first) => {
    expect(codeOf(() => pageSize(first))).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
  });
});

describe('toPage', () => {
  const page = (rows: number[], first: number) => toPage(rows, first, 42, (n) => `c${n}`, (n) => ({ n }));

  it('uses the extra row only to say another page follows', () => {
    expect(page([1, 2, 3], 2)).toEqual({
      edges: [
        { cursor: 'c1', node: { n: 1 } },
        { cursor: 'c2', node: { n: 2 } },
      ],
      pageInfo: { hasNextPage: true, endCursor: 'c2' },
      totalCount: 42,
    });
    expect(page([1, 2], 2).pageInfo).toEqual({ hasNextPage: false, endCursor: 'c2' });
  });

  it('has no end cursor on an empty page', () => {
    expect(page([], 2).pageInfo).toEqual({ hasNextPage: false, endCursor: null });
  });

  it('mapPage maps the nodes and keeps cursors, pageInfo and totalCount', () => {
    expect(mapPage(page([1, 2, 3], 2), (node) => node.n * 10)).toEqual({
      edges: [
        { cursor: 'c1', node: 10 },
        { cursor: 'c2', node: 20 },
      ],
      pageInfo: { hasNextPage: true, endCursor: 'c2' },
      totalCount: 42,
    });
  });
});
