// POST /internal/users/lookup { email } -> { id } or 404: which account holds an address. For
// platform services only (their service token; identity's SERVICE_JWKS_URLS says which), never
// routed through the gateway. workspaces uses it to add a member by email.
import { InternalTokenError } from '@citadel/kit/auth';
import type { Orm } from '@citadel/kit/db';
import { AppError } from '@citadel/kit/errors';
import { parseJsonBody, readBody, sendJson, sendJsonError } from '@citadel/kit/http';
import type { RouteHandler } from '@citadel/kit/server';
import type { EntityManager } from '@mikro-orm/postgresql';
import { normalizeEmail } from './email';
import { UserEntity } from './user.entity';

export interface UserLookupResult {
  id: string;
}

export function userLookupRoute(orm: Orm, verifyServiceToken: (authorization: string | undefined) => Promise<string>): RouteHandler {
  return async (req, res, scope) => {
    if (req.method !== 'POST') return sendJsonError(res, 405, 'METHOD_NOT_ALLOWED', 'Use POST');
    try {
      await verifyServiceToken(req.headers.authorization);
    } catch (error) {
      if (error instanceof InternalTokenError) return sendJsonError(res, 401, 'UNAUTHENTICATED', error.message);
      throw error;
    }
    const body = parseJsonBody(await readBody(req, scope.maxBodyBytes), 'application/json') as { email?: unknown } | null;
    if (typeof body?.email !== 'string') return sendJsonError(res, 400, 'BAD_REQUEST', '`email` must be a string');
    let canonical: string;
    try {
      canonical = normalizeEmail(body.email).canonical;
    } catch (error) {
      if (error instanceof AppError) return sendJsonError(res, 400, error.code, error.message);
      throw error;
    }
    const user = await (orm.em.fork() as EntityManager).findOne(UserEntity, { emailCanonical: canonical }, { fields: ['id'] });
    if (!user) return sendJsonError(res, 404, 'NOT_FOUND', 'No account with this email');
    sendJson(res, 200, { id: user.id } satisfies UserLookupResult);
  };
}
