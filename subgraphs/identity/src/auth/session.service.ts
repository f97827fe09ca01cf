// A user's view of their own sessions: list them, end one, end all.
import type { EntityManager } from '@mikro-orm/postgresql';
import { notFound } from '@citadel/kit/errors';
import { Session } from './session.entity';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class SessionService {
  /** Active sessions, most recently used first. */
  list(em: EntityManager, userId: string): Promise<Session[]> {
    return em.find(Session, { user: userId, revokedAt: null }, { orderBy: { lastUsedAt: 'desc' } });
  }

  /** Ends one of the user's own sessions; another user's id is NOT_FOUND, as if it did not exist. */
  async revoke(em: EntityManager, userId: string, sessionId: string): Promise<void> {
    const ended = UUID.test(sessionId)
      ? await em.nativeUpdate(Session, { id: sessionId, user: userId, revokedAt: null }, { revokedAt: new Date(), revokedReason: 'REVOKED' })
      : 0;
    if (ended === 0) throw notFound('No such active session');
  }

  /** Ends every session of the user, the current one included; returns how many ended. */
  revokeAll(em: EntityManager, userId: string): Promise<number> {
    return em.nativeUpdate(Session, { user: userId, revokedAt: null }, { revokedAt: new Date(), revokedReason: 'LOGOUT_EVERYWHERE' });
  }
}
