// Account administration: list and read any account, disable and enable one. Who may do it is the
// `@requiresScopes` on the fields (identity.permissions.ts); whom one may disable is bounded here.
import { badUserInput, notFound } from '@citadel/kit/errors';
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type { Outbox } from '@citadel/kit/outbox';
import type { SessionService } from '../auth/session.service';
import type { Caller } from '@citadel/kit/auth';
import { cannotDisableMorePrivileged, cannotDisableSelf, permissionsUnavailable } from '../identity.errors';
import { decodeCursor, encodeCursor, pageSize, parseTimeIdPosition, timeIdPositionSql, toPage, type Page } from '@citadel/kit/connection';
import { User } from './user.entity';
import { UUID } from './user.loaders';

export interface UserFilter {
  /** Case-insensitive substring of the email or the name. */
  search?: string | null | undefined;
  disabled?: boolean | null | undefined;
}

export interface ListUsersQuery {
  filter: UserFilter;
  first: number;
  after: string | null | undefined;
}


const MAX_SEARCH_LENGTH = 320;
const POSITION_SQL = timeIdPositionSql('"created_at"');

export class UserAdminService {
  constructor(
    private readonly sessions: SessionService,
    private readonly outbox: Outbox,
    /** A user's global permissions, from authz. */
    private readonly permissionsOf: (userId: string) => Promise<readonly string[]>,
  ) {}

  /** Oldest first, by (createdAt, id): a keyset, so pages stay stable while accounts are added. */
  async list(em: EntityManager, query: ListUsersQuery): Promise<Page<User>> {
    const first = pageSize(query.first);
    const where = whereClause(query.filter);
    const after = query.after != null ? decodeCursor(query.after, parseTimeIdPosition) : null;
    const conditions = after ? [...where.conditions, `("created_at", "id") > (?::timestamptz, ?::uuid)`] : where.conditions;
    const connection = em.getConnection();
    const rows = await connection.execute<{ id: string; position: string }[]>(
      `select "id", ${POSITION_SQL} as "position" from "identity"."users"
        ${sqlWhere(conditions)} order by "created_at", "id" limit ?`,
      [...where.params, ...(after ?? []), first + 1],
    );
    const [{ count }] = await connection.execute<[{ count: number }]>(
      `select count(*)::int as "count" from "identity"."users" ${sqlWhere(where.conditions)}`,
      where.params,
    );
    const users = rows.length ? await em.find(User, { id: { $in: rows.map((r) => r.id) } }) : [];
    const byId = new Map(users.map((u) => [u.id, u]));
    const page = toPage(rows, first, count, (row) => encodeCursor([row.position, row.id]), (row) => byId.get(row.id) ?? null);
    // A row deleted between the two reads is left out; the page's end and hasNextPage still hold.
    return { ...page, edges: page.edges.filter((edge): edge is { cursor: string; node: User } => edge.node !== null) };
  }

  /** The account, or null; a malformed id is BAD_USER_INPUT. */
  find(em: EntityManager, id: string): Promise<User | null> {
    return em.findOne(User, { id: validId(id) });
  }

  /**
   * Marks the account disabled, then ends all its sessions (the gateways hear of it as of any
   * revocation). The row lock orders this against a login's `FOR SHARE` re-check in
   * AuthService.startSession: a racing login either sees the account disabled, or commits its
   * session first and that session is ended here with the others. Disabling twice is harmless
   * (and recorded once: `identity.user.disabled` only when the account changed; the sessions'
   * `identity.session.revoked` whenever some were still active).
   */
  /**
   * Disables an account and ends its sessions. Bounded like delegation in authz: an administrator
   * may disable only an account whose global permissions they all hold themselves, so holding
   * identity.user.manage alone is not enough to lock out an administrator with more.
   */
  async disable(em: EntityManager, actor: Pick<Caller, 'userId' | 'permissions'>, id: string): Promise<User> {
    validId(id);
    if (actor.userId === id) throw cannotDisableSelf();
    let target: readonly string[];
    try {
      target = await this.permissionsOf(id.toLowerCase());
    } catch {
      throw permissionsUnavailable(); // fail closed: authz could not say what the account holds
    }
    const held = new Set(actor.permissions);
    const beyond = target.filter((p) => !held.has(p));
    if (beyond.length > 0) throw cannotDisableMorePrivileged(beyond);
    const user = await em.transactional(async (tx) => {
      const locked = await tx.findOne(User, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!locked) throw notFound('No such user');
      if (!locked.disabledAt) {
        locked.disabledAt = new Date();
        this.outbox.add(tx, { action: 'identity.user.disabled', target: { type: 'User', id }, changes: { before: { disabled: false }, after: { disabled: true } } });
      }
      return locked;
    });
    await this.sessions.end(em, id, 'ACCOUNT_DISABLED');
    return user;
  }

  /** Lets the account sign in again; its ended sessions stay ended. */
  async enable(em: EntityManager, id: string): Promise<User> {
    const user = await em.findOne(User, { id: validId(id) });
    if (!user) throw notFound('No such user');
    if (user.disabledAt) {
      user.disabledAt = null;
      this.outbox.add(em, { action: 'identity.user.enabled', target: { type: 'User', id: user.id }, changes: { before: { disabled: true }, after: { disabled: false } } });
      await em.flush();
    }
    return user;
  }
}

function validId(id: string): string {
  if (!UUID.test(id)) throw badUserInput('`id` is not a valid user id', { field: 'id' });
  return id;
}


function whereClause(filter: UserFilter): { conditions: string[]; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const search = filter.search?.trim().normalize('NFC') ?? '';
  if (search.length > MAX_SEARCH_LENGTH) throw badUserInput(`\`search\` must be at most ${MAX_SEARCH_LENGTH} characters`, { field: 'search' });
  if (search) {
    const pattern = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    conditions.push(`("email" ilike ? or "name" ilike ?)`);
    params.push(pattern, pattern);
  }
  if (filter.disabled != null) conditions.push(filter.disabled ? `"disabled_at" is not null` : `"disabled_at" is null`);
  return { conditions, params };
}

const sqlWhere = (conditions: string[]) => (conditions.length ? `where ${conditions.join(' and ')}` : '');
