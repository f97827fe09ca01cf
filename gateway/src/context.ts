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

/**
 * The client's address and user agent. With `trustedProxyHops` > 0 the gateway sits behind that
 * many reverse proxies, each appending to X-Forwarded-For: the client is the entry that many places
 * from the right (anything further left was written by the client and is not trusted).
 */
export function clientInfo(req: IncomingMessage, trustedProxyHops = 0): ClientInfo {
  const agent = req.headers['user-agent'];
  return {
    ip: clientIp(req.socket.remoteAddress ?? null, req.headers['x-forwarded-for'], trustedProxyHops),
    userAgent: typeof agent === 'string' ? agent.slice(0, 512) : null,
  };
}

export function clientIp(peer: string | null, forwardedFor: string | string[] | undefined, trustedProxyHops: number): string | null {
  if (trustedProxyHops <= 0) return peer;
  const chain = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  // The peer is the last proxy; X-Forwarded-For holds the addresses it and the proxies before it saw.
  return chain[chain.length - trustedProxyHops] ?? chain[0] ?? peer;
}
