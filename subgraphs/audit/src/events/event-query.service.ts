// Reading the trail: filtered pages newest first (keyset on seq), one event, a user's own trail,
// and an NDJSON export of a time range. Who may read is the fields' business (directives).
import type { EntityManager } from '@mikro-orm/postgresql';
import { decodeCursor, encodeCursor, pageSize, toPage, type Page } from '@citadel/kit/connection';
import { badUserInput } from '@citadel/kit/errors';
import type { StoredEvent } from '../chain/canonical';
import { toCheckpoint } from '../chain/chain-verifier';
import { checkpointLine, eventLine } from '../chain/export-lines';
import { exportTooLarge } from '../audit.errors';
import { query, queryOne } from '../sql';
import { CHECKPOINT_COLUMNS, EVENT_COLUMNS, FILTER_MAX_LENGTH, toStoredEvent, type CheckpointRow, type EventRow } from './event.row';

export interface AuditEventFilter {
  actorId?: string | null | undefined;
  /** A prefix of the action: `identity.` or `identity.login.`. */
  action?: string | null | undefined;
  targetType?: string | null | undefined;
  targetId?: string | null | undefined;
  outcome?: 'success' | 'failure' | 'denied' | null | undefined;
  /** occurredAt >= from. */
  from?: Date | null | undefined;
  /** occurredAt < to. */
  to?: Date | null | undefined;
}

export interface PageQuery {
  first: number;
  after: string | null | undefined;
}

/** Events one auditExport may return. */
export const MAX_EXPORT_EVENTS = 10_000;
/** How an event about an account names its target (see docs/audit.md, "Event fields"). */
export const USER_TARGET_TYPE = 'User';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Where {
  conditions: string[];
  params: unknown[];
}

export class EventQueryService {
  /** Matching events, newest first. */
  list(em: EntityManager, filter: AuditEventFilter, page: PageQuery): Promise<Page<StoredEvent>> {
    return this.page(em, whereClause(filter), page);
  }

  /** Events the user did, or that were done to their account, newest first. */
  trail(em: EntityManager, userId: string, page: PageQuery): Promise<Page<StoredEvent>> {
    return this.page(
      em,
      {
        conditions: [`(("actor_type" = 'user' and "actor_id" = ?) or ("target_type" = ? and "target_id" = ?))`],
        params: [userId, USER_TARGET_TYPE, userId],
      },
      page,
    );
  }

  /** The event with this id (the producer's), or null. */
  async find(em: EntityManager, id: string): Promise<StoredEvent | null> {
    if (!UUID.test(id)) throw badUserInput('`id` is not a valid event id', { field: 'id' });
    const row = await queryOne<EventRow>(em, `select ${EVENT_COLUMNS} from "audit"."events" where "id" = ?::uuid`, [id]);
    return row ? toStoredEvent(row) : null;
  }

  /** The stored events among `ids` (lower-case UUIDs), in seq order; unknown ids are left out. */
  async byIds(em: EntityManager, ids: readonly string[]): Promise<StoredEvent[]> {
    if (ids.length === 0) return [];
    const rows = await query<EventRow>(
      em,
      `select ${EVENT_COLUMNS} from "audit"."events" where "id" = any(?::uuid[]) order by "seq"`,
      // A Postgres array literal: the caller passes UUIDs only, nothing to escape.
      [`{${ids.join(',')}}`],
    );
    return rows.map(toStoredEvent);
  }

  /**
   * Events that occurred in [from, to) in chain order, then the checkpoints among them, as NDJSON
   * (the format of retention's files). More than MAX_EXPORT_EVENTS is BAD_USER_INPUT.
   */
  async exportRange(em: EntityManager, from: Date, to: Date): Promise<string> {
    if (!(from.getTime() < to.getTime())) throw badUserInput('`from` must be before `to`', { field: 'from' });
    const range = [from.toISOString(), to.toISOString()];
    const counted = await queryOne<{ count: number }>(
      em,
      `select count(*)::int as "count" from "audit"."events" where "occurred_at" >= ?::timestamptz and "occurred_at" < ?::timestamptz`,
      range,
    );
    const count = counted?.count ?? 0;
    if (count > MAX_EXPORT_EVENTS) throw exportTooLarge(MAX_EXPORT_EVENTS, count);
    const events = (
      await query<EventRow>(
        em,
        `select ${EVENT_COLUMNS} from "audit"."events"
          where "occurred_at" >= ?::timestamptz and "occurred_at" < ?::timestamptz order by "seq" limit ?`,
        [...range, MAX_EXPORT_EVENTS],
      )
    ).map(toStoredEvent);
    if (events.length === 0) return '';
    const checkpoints = await query<CheckpointRow>(
      em,
      `select ${CHECKPOINT_COLUMNS} from "audit"."checkpoints" where "seq" between ? and ? order by "seq"`,
      [events[0]!.seq, events.at(-1)!.seq],
    );
    return [...events.map(eventLine), ...checkpoints.map((row) => checkpointLine(toCheckpoint(row)))].join('');
  }

  private async page(em: EntityManager, where: Where, page: PageQuery): Promise<Page<StoredEvent>> {
    const first = pageSize(page.first);
    const after = page.after != null ? decodeCursor(page.after, parseSeq) : null;
    const conditions = after === null ? where.conditions : [...where.conditions, '"seq" < ?'];
    const rows = await query<EventRow>(
      em,
      `select ${EVENT_COLUMNS} from "audit"."events" ${sqlWhere(conditions)} order by "seq" desc limit ?`,
      [...where.params, ...(after === null ? [] : [after]), first + 1],
    );
    const counted = await queryOne<{ count: number }>(
      em,
      `select count(*)::int as "count" from "audit"."events" ${sqlWhere(where.conditions)}`,
      where.params,
    );
    return toPage(rows.map(toStoredEvent), first, counted?.count ?? 0, (event) => encodeCursor(event.seq), (event) => event);
  }
}

function parseSeq(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null;
}

function whereClause(filter: AuditEventFilter): Where {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const exact = (column: string, value: string | null | undefined, field: string, max: number) => {
    if (value == null) return;
    if (value.length > max) throw badUserInput(`\`${field}\` must be at most ${max} characters`, { field });
    conditions.push(`"${column}" = ?`);
    params.push(value);
  };
  exact('actor_id', filter.actorId, 'actorId', FILTER_MAX_LENGTH.actorId);
  exact('target_type', filter.targetType, 'targetType', FILTER_MAX_LENGTH.targetType);
  exact('target_id', filter.targetId, 'targetId', FILTER_MAX_LENGTH.targetId);
  exact('outcome', filter.outcome, 'outcome', 16);
  if (filter.action != null && filter.action !== '') {
    if (filter.action.length > FILTER_MAX_LENGTH.action) {
      throw badUserInput(`\`action\` must be at most ${FILTER_MAX_LENGTH.action} characters`, { field: 'action' });
    }
    conditions.push(`"action" like ? escape '\\'`);
    params.push(`${filter.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (filter.from) {
    conditions.push('"occurred_at" >= ?::timestamptz');
    params.push(filter.from.toISOString());
  }
  if (filter.to) {
    conditions.push('"occurred_at" < ?::timestamptz');
    params.push(filter.to.toISOString());
  }
  return { conditions, params };
}

const sqlWhere = (conditions: string[]) => (conditions.length ? `where ${conditions.join(' and ')}` : '');
