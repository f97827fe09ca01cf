// Sessions: list a user's own, end one, end all; every ending is published to the gateways.
import type { EntityManager } from '@mikro-orm/postgresql';
import { notFound } from '@citadel/kit/errors';
import { Session } from './session.entity';
import type { SessionEvents } from './session.events';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class SessionService {
  constructor(private readonly events: SessionEvents) {}

  /** Active sessions, most recently used first. */
  list(em: EntityManager, userId: string): Promise<Session[]> {
    return em.find(Session, { user: userId, revokedAt: null }, { orderBy: { lastUsedAt: 'desc' } });
  }

  /** Ends one of the user's own sessions; another user's id is NOT_FOUND, as if it did not exist. */
  async revoke(em: EntityManager, userId: string, sessionId: string): Promise<void> {
    const ended = UUID.test(sessionId) ? await this.end(em, userId, 'REVOKED', sessionId) : [];
    if (ended.length === 0) throw notFound('No such active session');
  }

  /** Ends every session of the user, the current one included; returns how many ended. */
  async revokeAll(em: EntityManager, userId: string, reason = 'LOGOUT_EVERYWHERE'): Promise<number> {
    return (await this.end(em, userId, reason)).length;
  }

  /** Ends the user's active sessions (just `sessionId`, or all but `exceptId`), then tells the gateways. */
  async end(em: EntityManager, userId: string, reason: string, sessionId?: string, exceptId?: string): Promise<string[]> {
    const id = sessionId ? { id: sessionId } : exceptId ? { id: { $ne: exceptId } } : {};
    const filter = { user: userId, revokedAt: null, ...id };
    const active = await em.find(Session, filter, { fields: ['id'], disableIdentityMap: true });
    if (active.length === 0) return [];
    const ids = active.map((s) => s.id);
    await em.nativeUpdate(Session, { id: { $in: ids }, revokedAt: null }, { revokedAt: new Date(), revokedReason: reason });
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
