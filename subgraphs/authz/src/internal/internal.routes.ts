// Endpoints for platform services only (never routed through the gateway's graph):
//   POST /internal/catalogue              a service registers its own module's permissions
//   POST /internal/check                  batched checkPermission(userId, permission, scope)
//   POST /internal/effective-permissions  a gateway (or a platform service) loads a user's global permissions
//   GET  /internal/changes?after=<seq>    a gateway catches up on changes it may have missed
import type { IncomingMessage } from 'node:http';
import { InternalTokenError } from '@citadel/kit/auth';
import type { Orm } from '@citadel/kit/db';
import { AppError } from '@citadel/kit/errors';
import { HttpError, parseJsonBody, readBody, sendJson, sendJsonError } from '@citadel/kit/http';
import type { PermissionCatalogue } from '@citadel/kit/permissions';
import type { RouteHandler } from '@citadel/kit/server';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from '@citadel/kit/env';
import type { CatalogueService } from '../catalogue/catalogue.service';
import type { ChangeLog } from '../changes';
import type { EffectivePermissions } from '../effective-permissions';
import type { GrantService } from '../grants/grant.service';
import { GLOBAL_SCOPE, parseScope } from '../scope';

const MAX_CHECKS = 500;
const uuid = z.string().uuid();

const catalogueBody = z.object({
  module: z.string(),
  permissions: z.record(z.string(), z.string()),
  roles: z.record(z.string(), z.array(z.string())).default({}),
});
const checkBody = z.object({
  checks: z.array(z.object({ userId: uuid, permission: z.string().max(128), scope: z.string().max(200).optional() })).max(MAX_CHECKS),
});
const effectiveBody = z.object({ userId: uuid });
const scopedGrant = z.object({ userId: uuid, role: z.string().max(64), scope: z.string().max(200) });
const grantsBody = z.object({ grant: z.array(scopedGrant).max(MAX_CHECKS).default([]), revoke: z.array(scopedGrant).max(MAX_CHECKS).default([]) });

export interface InternalRoutesOptions {
  orm: Orm;
  catalogue: CatalogueService;
  effective: EffectivePermissions;
  changes: ChangeLog;
  grants: GrantService;
  /** Verifies a platform service's token and returns its name. */
  verifyServiceToken: (authorization: string | undefined) => Promise<string>;
  /** Verifies a gateway's internal token. */
  verifyGatewayToken: (authorization: string | undefined) => Promise<unknown>;
}

export function internalRoutes(options: InternalRoutesOptions): Record<string, RouteHandler> {
  const em = () => options.orm.em.fork() as EntityManager;
  const fromService = (req: IncomingMessage) => options.verifyServiceToken(req.headers.authorization);
  const fromGateway = (req: IncomingMessage) => options.verifyGatewayToken(req.headers.authorization);
  const fromGatewayOrService = async (req: IncomingMessage) => {
    const auth = req.headers.authorization;
    await options.verifyGatewayToken(auth).catch(() => options.verifyServiceToken(auth));
  };

  return {
    '/internal/catalogue': guarded('POST', fromService, async (req, res, caller, limit) => {
      const catalogue = parse(catalogueBody, await json(req, limit)) as PermissionCatalogue;
      if (catalogue.module !== caller) {
        return sendJsonError(res, 403, 'FORBIDDEN', `Service ${String(caller)} may only register its own permissions`);
      }
      sendJson(res, 200, await options.catalogue.register(em(), catalogue));
    }),
    '/internal/check': guarded('POST', fromGatewayOrService, async (req, res, _caller, limit) => {
      const { checks } = parse(checkBody, await json(req, limit));
      const manager = em();
      const byUserScope = new Map<string, Promise<Set<string>>>();
      const results = await Promise.all(
        checks.map(async (check) => {
          const scope = parseScope(check.scope);
          const key = `${check.userId}|${scope}`;
          let held = byUserScope.get(key);
          if (!held) {
            held = options.effective.forUser(manager, check.userId, scope).then((e) => new Set(e.permissions));
            byUserScope.set(key, held);
          }
          return (await held).has(check.permission);
        }),
      );
      sendJson(res, 200, { results });
    }),
    '/internal/grants': guarded('POST', fromService, async (req, res, caller, limit) => {
      const body = parse(grantsBody, await json(req, limit));
      const manager = em();
      const actor = { userId: null, permissions: [], system: true, service: caller };
      // A service hands out only the roles its own catalogue declared, and only inside a resource.
      const resolve = async (item: z.infer<typeof scopedGrant>) => {
        const role = await options.grants.roleNamed(manager, item.role);
        if (role.module !== caller) throw new HttpError(403, 'FORBIDDEN', `Role ${item.role} is not declared by ${caller}`);
        if (parseScope(item.scope) === GLOBAL_SCOPE) throw new HttpError(403, 'FORBIDDEN', 'Services grant roles only inside a resource scope');
        return { userId: item.userId, roleId: role.id, scope: item.scope };
      };
      for (const item of body.grant) await options.grants.grant(manager, actor, await resolve(item));
      for (const item of body.revoke) await options.grants.revoke(manager, actor, await resolve(item));
      sendJson(res, 200, { granted: body.grant.length, revoked: body.revoke.length });
    }),
    // Gateways load callers' permissions; services (identity) check whom an administrator may act on.
    '/internal/effective-permissions': guarded('POST', fromGatewayOrService, async (req, res, _caller, limit) => {
      const { userId } = parse(effectiveBody, await json(req, limit));
      const manager = em();
      // The sequence is read first: a change racing this read is then seen by the next poll.
      const { seq } = await options.changes.since(manager, Number.MAX_SAFE_INTEGER);
      const effective = await options.effective.forUser(manager, userId);
      sendJson(res, 200, { ...effective, seq });
    }),
    '/internal/changes': guarded('GET', fromGateway, async (req, res) => {
      const after = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('after') ?? 0);
      if (!Number.isSafeInteger(after) || after < 0) return sendJsonError(res, 400, 'BAD_REQUEST', '`after` must be a sequence number');
      sendJson(res, 200, await options.changes.since(em(), after));
    }),
  };
}

type Handler<C> = (req: IncomingMessage, res: Parameters<RouteHandler>[1], caller: C, maxBodyBytes: number) => Promise<void>;

function guarded<C>(method: string, verify: (req: IncomingMessage) => Promise<C>, handler: Handler<C>): RouteHandler {
  return async (req, res, scope) => {
    if (req.method !== method) return sendJsonError(res, 405, 'METHOD_NOT_ALLOWED', `Use ${method}`);
    let caller: C;
    try {
      caller = await verify(req);
    } catch (error) {
      if (error instanceof InternalTokenError) return sendJsonError(res, 401, 'UNAUTHENTICATED', error.message);
      throw error;
    }
    try {
      await handler(req, res, caller, scope.maxBodyBytes);
    } catch (error) {
      if (error instanceof AppError) return sendJsonError(res, 400, error.code, error.message);
      throw error;
    }
  };
}

async function json(req: IncomingMessage, limit: number): Promise<unknown> {
  return parseJsonBody(await readBody(req, limit), 'application/json');
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, 'BAD_REQUEST', `Invalid body: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return result.data;
}
