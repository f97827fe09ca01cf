// What every gateway request carries: the verified caller, the request id, a child logger.
import type { Caller, ClientInfo } from '@citadel/kit/auth';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '@citadel/kit/logger';

export interface GatewayContext {
  caller: Caller;
  client: ClientInfo;
  requestId: string;
  logger: Logger;
}

/** The client's address and user agent, as far as this gateway can see them. */
export function clientInfo(req: IncomingMessage): ClientInfo {
  const agent = req.headers['user-agent'];
  return {
    ip: req.socket.remoteAddress ?? null,
    userAgent: typeof agent === 'string' ? agent.slice(0, 512) : null,
  };
}
