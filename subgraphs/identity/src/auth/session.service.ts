// Sessions: list a user's own, end one, end all; every ending is recorded in the outbox with the
// revocation (one transaction) and published to the gateways after it.
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type { AuditEventInput } from '@citadel/kit/audit-event';
import { notFound } from '@citadel/kit/errors';
import type { Outbox } from '@citadel/kit/outbox';
import { Session } from './session.entity';
import type { SessionEvents } from './session.events';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Which sessions `end` ends (one, all but one, or all) and who the event names as actor. */
export interface EndSessions {
  sessionId?: string | undefined;
  exceptId?: string | undefined;
  /** Defaults to the current request's caller. */
  actor?: AuditEventInput['actor'] | undefined;
}

/** The audit action of an ending, by its reason; any other reason is `identity.session.revoked`. */
const ENDING_ACTIONS: Record<string, string> = {
  LOGOUT: 'identity.session.logged-out',
  REFRESH_TOKEN_REUSED: 'identity.refresh-token.reuse-detected',
};

export class SessionService {
  constructor(
    private readonly events: SessionEvents,
    private readonly outbox: Outbox,
  ) {}

  /** Active sessions, most recently used first. */
  list(em: EntityManager, userId: string): Promise<Session[]> {
    return em.find(Session, { user: userId, revokedAt: null }, { orderBy: { lastUsedAt: 'desc' } });
  }

  /** Ends one of the user's own sessions; another user's id is NOT_FOUND, as if it did not exist. */
  async revoke(em: EntityManager, userId: string, sessionId: string): Promise<void> {
    const ended = UUID.test(sessionId) ? await this.end(em, userId, 'REVOKED', { sessionId }) : [];
    if (ended.length === 0) throw notFound('No such active session');
  }

  /** Ends every session of the user, the current one included; returns how many ended. */
  async revokeAll(em: EntityManager, userId: string, reason = 'LOGOUT_EVERYWHERE'): Promise<number> {
    return (await this.end(em, userId, reason)).length;
  }

  /**
   * Ends the user's active sessions (just `sessionId`, or all but `exceptId`) and records one event
   * for them in the same transaction, then tells the gateways. The rows are locked, so the ids
   * returned and recorded are exactly those this call ended, even with another ending racing it.
   */
  async end(em: EntityManager, userId: string, reason: string, which: EndSessions = {}): Promise<string[]> {
    const { sessionId, exceptId } = which;
    const id = sessionId ? { id: sessionId } : exceptId ? { id: { $ne: exceptId } } : {};
    const filter = { user: userId, revokedAt: null, ...id };
    const ids = await em.transactional(async (tx) => {
      const active = await tx.find(Session, filter, {
        fields: ['id'],
        orderBy: { id: 'asc' },
        lockMode: LockMode.PESSIMISTIC_WRITE,
        disableIdentityMap: true,
      });
      if (active.length === 0) return [];
      const ended = active.map((s) => s.id);
      await tx.nativeUpdate(Session, { id: { $in: ended }, revokedAt: null }, { revokedAt: new Date(), revokedReason: reason });
      this.outbox.add(tx, {
        action: ENDING_ACTIONS[reason] ?? 'identity.session.revoked',
        actor: which.actor,
        target: sessionId ? { type: 'Session', id: sessionId } : { type: 'User', id: userId },
        outcome: reason === 'REFRESH_TOKEN_REUSED' ? 'failure' : 'success',
        reason,
        changes: { after: { userId, sessionIds: ended } },
      });
      return ended;
    });
    if (ids.length === 0) return [];
    await this.events.revoked({ userId, sessionIds: ids, reason });
    return ids;
  }

  /**
   * Sessions ended after the position (`since`, `afterId`) in (revokedAt, id) order, for gateways
   * catching up: a strict keyset, so many revocations sharing one instant still page forward.
   */
  async revokedSince(
    em: EntityManager,
    since: Date,
    afterId: string | undefined,
    limit: number,
  ): Promise<{ id: string; revokedAt: Date }[]> {
    const after = afterId && UUID.test(afterId)
      ? { $or: [{ revokedAt: { $gt: since } }, { revokedAt: since, id: { $gt: afterId } }] }
      : { revokedAt: { $gt: since } };
    const rows = await em.find(Session, after, {
      fields: ['id', 'revokedAt'],
      orderBy: [{ revokedAt: 'asc' }, { id: 'asc' }],
      limit,
      disableIdentityMap: true,
    });
    return rows.map((s) => ({ id: s.id, revokedAt: s.revokedAt! }));
  }
}
