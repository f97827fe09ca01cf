// Endpoints for platform services only (never routed through the gateway's graph):
//   POST /internal/events   a producer's relay delivers events: { events: AuditEventInput[] } (at most 500)
//                            -> 200 { accepted, duplicates }
// A service token (its `iss` a service in SERVICE_JWKS_URLS) may deliver only events naming itself
// as `service`; the gateway's internal token only events of service `gateway` (authorization denials).
import type { IncomingMessage } from 'node:http';
import type { Caller } from '@citadel/kit/auth';
import { InternalTokenError } from '@citadel/kit/auth';
import type { Orm } from '@citadel/kit/db';
import { HttpError, parseJsonBody, readBody, sendJson, sendJsonError } from '@citadel/kit/http';
import type { RouteHandler } from '@citadel/kit/server';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ingestBody, parseEvents } from '../events/event.input';
import type { IngestService } from '../events/ingest.service';

/** 500 events with large `changes` fit; a bigger batch gets 413 and should be split. */
export const MAX_INGEST_BYTES = 8_000_000;
export const GATEWAY_SERVICE = 'gateway';

export interface InternalRoutesOptions {
  orm: Orm;
  ingest: IngestService;
  /** Verifies a platform service's token and returns its name. */
  verifyServiceToken: (authorization: string | undefined) => Promise<string>;
  /** Verifies a gateway's internal token. */
  verifyGatewayToken: (authorization: string | undefined) => Promise<Caller>;
}

export function internalRoutes(options: InternalRoutesOptions): Record<string, RouteHandler> {
  /** The calling service's name: `gateway` for a gateway's token, else the service token's issuer. */
  const caller = async (req: IncomingMessage): Promise<string> => {
    const auth = req.headers.authorization;
    return options.verifyGatewayToken(auth).then(
      () => GATEWAY_SERVICE,
      () => options.verifyServiceToken(auth),
    );
  };

  return {
    '/internal/events': async (req, res, scope) => {
      if (req.method !== 'POST') return sendJsonError(res, 405, 'METHOD_NOT_ALLOWED', 'Use POST');
      let service: string;
      try {
        service = await caller(req);
      } catch (error) {
        if (error instanceof InternalTokenError) return sendJsonError(res, 401, 'UNAUTHENTICATED', error.message);
        throw error;
      }
      const body = ingestBody.safeParse(parseJsonBody(await readBody(req, MAX_INGEST_BYTES), req.headers['content-type']));
      if (!body.success) throw badRequest(body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
      const { events, problems } = parseEvents(body.data.events);
      if (problems.length > 0) throw badRequest(problems);
      // A service speaks for its own module only: identity cannot file `authz.grant.created`.
      const foreign = events.find((event) => event.service !== service || !event.action.startsWith(`${service}.`));
      if (foreign) {
        return sendJsonError(res, 403, 'FORBIDDEN', `Service ${service} may only deliver its own events (event ${foreign.id} names ${foreign.service}, ${foreign.action})`);
      }
      const result = await options.ingest.ingest(options.orm.em.fork() as EntityManager, events);
      for (const checkpoint of result.checkpoints) scope.logger.debug({ seq: checkpoint.seq }, 'audit checkpoint signed');
      sendJson(res, 200, { accepted: result.accepted, duplicates: result.duplicates });
    },
  };
}

function badRequest(problems: string[]): HttpError {
  const shown = problems.slice(0, 20);
  const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
  return new HttpError(400, 'BAD_REQUEST', `Invalid events: ${shown.join('; ')}${more}`, { problems: shown });
}
