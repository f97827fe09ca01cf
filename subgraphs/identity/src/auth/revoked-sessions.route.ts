// GET /internal/revoked-sessions?since=<ISO time>[&after=<id>][&limit=n]: how gateways catch up on revocations they may
// have missed (a restart, a lost pubsub message, no Redis). Gateway-only: needs an internal token.
import type { Caller } from '@citadel/kit/auth';
import { InternalTokenError } from '@citadel/kit/auth';
import type { Orm } from '@citadel/kit/db';
import { sendJson, sendJsonError } from '@citadel/kit/http';
import type { RouteHandler } from '@citadel/kit/server';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { SessionService } from './session.service';

const LIMIT = 5_000;

export interface RevokedSessionsPage {
  sessions: { id: string; revokedAt: string }[];
  /** More rows may follow `sessions`' last revokedAt. */
  more: boolean;
}

export function revokedSessionsRoute(
  orm: Orm,
  sessions: SessionService,
  verifyInternalToken: (authorization: string | undefined) => Promise<Caller>,
): RouteHandler {
  return async (req, res) => {
    try {
      await verifyInternalToken(req.headers.authorization);
    } catch (error) {
      if (error instanceof InternalTokenError) return sendJsonError(res, 401, 'UNAUTHENTICATED', error.message);
      throw error;
    }
    const params = new URL(req.url ?? '/', 'http://x').searchParams;
    const since = new Date(params.get('since') ?? 0);
    if (Number.isNaN(since.getTime())) return sendJsonError(res, 400, 'BAD_REQUEST', '`since` must be an ISO-8601 time');
    const after = params.get('after') ?? undefined;
    const limit = Math.min(LIMIT, Math.max(1, Number(params.get('limit') ?? LIMIT) || LIMIT));
    const rows = await sessions.revokedSince(orm.em.fork() as EntityManager, since, after, limit);
    const page: RevokedSessionsPage = {
      sessions: rows.map((s) => ({ id: s.id, revokedAt: s.revokedAt.toISOString() })),
      more: rows.length === limit,
    };
    sendJson(res, 200, page);
  };
}
