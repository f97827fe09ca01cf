// What every gateway request carries: the verified caller, the request id, a child logger.
import type { Caller } from '@citadel/kit/auth';
import type { Logger } from '@citadel/kit/logger';

export interface GatewayContext {
  caller: Caller;
  requestId: string;
  logger: Logger;
}
