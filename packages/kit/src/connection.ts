// Relay connections for every subgraph that lists things: page types, page-size bounds and opaque
// keyset cursors. Nothing here knows what is listed.
import { badUserInput } from './errors';
import { Directive, Field, Int, ObjectType, type ClassType } from 'type-graphql';

/** A page of `T`, before the nodes are mapped to their GraphQL type. */
export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/** Longer than any cursor this file makes; a bigger one is refused before it is decoded. */
const MAX_CURSOR_LENGTH = 512;

// Every subgraph that lists things returns a PageInfo: the same value type, so it is shareable.
@ObjectType('PageInfo')
@Directive('@shareable')
export class PageInfoType {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next page; null on an empty page.' })
  endCursor!: string | null;
}

/**
 * `XEdge`'s fields; extend as `@ObjectType('XEdge') class XEdge extends EdgeType(XType) {}`. The
 * base class itself never reaches a schema: buildSchema emits only reachable (or orphaned) types.
 */
export function EdgeType<TNode extends object>(Node: ClassType<TNode>) {
  @ObjectType()
  abstract class Edge {
    @Field(() => String)
    cursor!: string;

    @Field(() => Node)
    node!: TNode;
  }
  return Edge;
}

/** `XConnection`'s fields; extend as `@ObjectType('XConnection') class XConnection extends ConnectionType(XEdge) {}`. */
export function ConnectionType<TEdge extends object>(Edge: ClassType<TEdge>) {
  @ObjectType()
  abstract class Connection {
    @Field(() => [Edge])
    edges!: TEdge[];

    @Field(() => PageInfoType)
    pageInfo!: PageInfoType;

    @Field(() => Int, { description: 'Items matching the filter, on every page.' })
    totalCount!: number;
  }
  return Connection;
}

/** `first` when it is 1 to `max`, else BAD_USER_INPUT. */
export function pageSize(first: number, max = MAX_PAGE_SIZE): number {
  if (!Number.isInteger(first) || first < 1 || first > max) {
    throw badUserInput(`\`first\` must be 1 to ${max}`, { field: 'first' });
  }
  return first;
}

/** An opaque cursor for a position key (typically the ordering columns of the last row). */
export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/**
 * The position key inside `cursor`. `parse` returns the key when the decoded value is one, or
 * null; anything that is not a cursor this list made is BAD_USER_INPUT, never a database error.
 */
export function decodeCursor<K>(cursor: string, parse: (value: unknown) => K | null): K {
  const invalid = () => badUserInput('`after` is not a cursor from this list', { field: 'after' });
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const key = parse(value);
  if (key === null) throw invalid();
  return key;
}

/**
 * The page from rows fetched with `limit: first + 1`: the extra row only says another page follows.
 */
export function toPage<R, T>(rows: R[], first: number, totalCount: number, cursorOf: (row: R) => string, nodeOf: (row: R) => T): Page<T> {
  const edges = rows.slice(0, first).map((row) => ({ cursor: cursorOf(row), node: nodeOf(row) }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount,
  };
}

/** The same page with each node mapped (an entity to its GraphQL type). */
export function mapPage<T, U>(page: Page<T>, map: (node: T) => U): Page<U> {
  return { ...page, edges: page.edges.map((edge) => ({ cursor: edge.cursor, node: map(edge.node) })) };
}

/**
 * A keyset position in (created_at, id) order: created_at as text to the microsecond, as Postgres
 * holds it (a JS Date would cut it to milliseconds, and a page boundary inside one millisecond
 * would repeat or skip rows).
 */
export type TimeIdPosition = [createdAt: string, id: string];

/** SQL for a row's position text; `column` is the (qualified) created_at column. */
export const timeIdPositionSql = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const POSITION_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const POSITION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A decoded cursor's (created_at, id), or null when it is not one (for decodeCursor). */
export function parseTimeIdPosition(value: unknown): TimeIdPosition | null {
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [createdAt, id] = value as unknown[];
  if (typeof createdAt !== 'string' || typeof id !== 'string' || !POSITION_TIME.test(createdAt) || !POSITION_ID.test(id)) return null;
  // The shape alone lets through 2026-02-30: round-tripping the millisecond part refuses it.
  const millis = `${createdAt.slice(0, 23)}Z`;
  const date = new Date(millis);
  if (Number.isNaN(date.getTime()) || date.toISOString() !== millis) return null;
  return [createdAt, id];
}
