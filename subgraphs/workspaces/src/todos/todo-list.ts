// Todo lists as keyset pages in (created_at, id) order: a workspace's todos, or a user's assigned
// todos across the workspaces they are still in. Two statements per page (rows and count).
import { badUserInput } from '@citadel/kit/errors';
import { decodeCursor, encodeCursor, pageSize, parseTimeIdPosition, timeIdPositionSql, toPage, type Page } from '@citadel/kit/connection';
import type { EntityManager } from '@mikro-orm/postgresql';
import { UUID } from '../workspaces/access';
import { Todo, TODO_STATUSES, TodoEntity, type TodoStatus } from './todo.entity';

export interface TodoFilter {
  status?: TodoStatus | null;
  assigneeId?: string | null;
  /** Case-insensitive substring of the title or description. */
  search?: string | null;
}

export type TodoListScope = { workspaceId: string } | { workspaceIds: readonly string[] } | { assignedTo: string };


const MAX_SEARCH_LENGTH = 200;
const POSITION_SQL = timeIdPositionSql('t."created_at"');

export async function listTodos(em: EntityManager, scope: TodoListScope, filter: TodoFilter, first: number, after: string | null | undefined): Promise<Page<Todo>> {
  const size = pageSize(first);
  const where = whereClause(scope, filter);
  const position = after != null ? decodeCursor(after, parseTimeIdPosition) : null;
  const conditions = position ? [...where.conditions, `(t."created_at", t."id") > (?::timestamptz, ?::uuid)`] : where.conditions;
  const rows = await em.execute<(Record<string, unknown> & { position: string; id: string })[]>(
    `select t.*, ${POSITION_SQL} as "position" from "workspaces"."todos" t
      where ${conditions.join(' and ')} order by t."created_at", t."id" limit ?`,
    [...where.params, ...(position ?? []), size + 1],
  );
  const [{ count }] = await em.execute<[{ count: number }]>(
    `select count(*)::int as "count" from "workspaces"."todos" t where ${where.conditions.join(' and ')}`,
    where.params,
  );
  return toPage(rows, size, count, (row) => encodeCursor([row.position, row.id]), (row) => {
    const { position: _position, ...columns } = row;
    return todoOf(em, columns);
  });
}

/**
 * The first page of each workspace's todos (no cursor) in one pair of statements however many
 * workspaces: `row_number()` per workspace for the rows, `group by` for the counts. Workspace.todos
 * under User.workspaces batches through this (loaders.ts).
 */
export async function listFirstTodosOfWorkspaces(em: EntityManager, workspaceIds: readonly string[], filter: TodoFilter, first: number): Promise<Map<string, Page<Todo>>> {
  const size = pageSize(first);
  const where = whereClause({ workspaceIds }, filter);
  const rows = await em.execute<(Record<string, unknown> & { position: string; id: string; workspace_id: string; rn: unknown })[]>(
    `select * from (
        select t.*, ${POSITION_SQL} as "position", row_number() over (partition by t."workspace_id" order by t."created_at", t."id") as "rn"
          from "workspaces"."todos" t where ${where.conditions.join(' and ')}
      ) x where x."rn" <= ? order by x."workspace_id", x."rn"`,
    [...where.params, size + 1],
  );
  const counts = await em.execute<{ workspace_id: string; count: number }[]>(
    `select t."workspace_id", count(*)::int as "count" from "workspaces"."todos" t where ${where.conditions.join(' and ')} group by t."workspace_id"`,
    where.params,
  );
  const countOf = new Map(counts.map((c) => [c.workspace_id, c.count]));
  return new Map(
    workspaceIds.map((id) => {
      const mine = rows.filter((row) => row.workspace_id === id);
      const page = toPage(mine, size, countOf.get(id) ?? 0, (row) => encodeCursor([row.position, row.id]), (row) => {
        const { position: _position, rn: _rn, ...columns } = row;
        return todoOf(em, columns);
      });
      return [id, page];
    }),
  );
}

/**
 * A listed row as a Todo, mapped from columns to properties (timestamps parsed) as `em.map` does,
 * but not merged into the request's identity map: pages only feed TodoType.from, and merging each
 * row (validation, change-tracking snapshot, property accessors) cost a fifth of the subgraph's
 * CPU for `User.workspaces { todos }`.
 */
function todoOf(em: EntityManager, columns: Record<string, unknown>): Todo {
  return Object.assign(new Todo(), em.getDriver().mapResult(columns, em.getMetadata().get(TodoEntity.meta.className)));
}

function whereClause(scope: TodoListScope, filter: TodoFilter): { conditions: string[]; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if ('workspaceId' in scope) {
    conditions.push(`t."workspace_id" = ?`);
    params.push(scope.workspaceId);
  } else if ('workspaceIds' in scope) {
    conditions.push(scope.workspaceIds.length === 0 ? 'false' : `t."workspace_id" in (${scope.workspaceIds.map(() => '?').join(', ')})`);
    params.push(...scope.workspaceIds);
  } else {
    // Only workspaces the user is still a member of, and that still exist.
    conditions.push(
      `t."assignee_id" = ?`,
      `exists (select 1 from "workspaces"."members" m join "workspaces"."workspaces" w on w."id" = m."workspace_id"
                where m."workspace_id" = t."workspace_id" and m."user_id" = t."assignee_id" and w."deleted_at" is null)`,
    );
    params.push(scope.assignedTo);
  }
  if (filter.status != null) {
    if (!TODO_STATUSES.includes(filter.status)) throw badUserInput('`status` is not a todo status', { field: 'status' });
    conditions.push(`t."status" = ?`);
    params.push(filter.status);
  }
  if (filter.assigneeId != null) {
    if (!UUID.test(filter.assigneeId)) throw badUserInput('`assigneeId` is not a valid user id', { field: 'assigneeId' });
    conditions.push(`t."assignee_id" = ?`);
    params.push(filter.assigneeId);
  }
  const search = filter.search?.trim().normalize('NFC') ?? '';
  if (search.length > MAX_SEARCH_LENGTH) throw badUserInput(`\`search\` must be at most ${MAX_SEARCH_LENGTH} characters`, { field: 'search' });
  if (search) {
    const pattern = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    conditions.push(`(t."title" ilike ? or t."description" ilike ?)`);
    params.push(pattern, pattern);
  }
  return { conditions, params };
}

