// How a producer's outbox relay hands events to audit: POST /internal/events with a service token.
import type { ServiceTokenMinter } from './auth';
import type { AuditEventInput } from './audit-event';
import { DeliveryRejected } from './outbox';

export interface AuditDeliveryOptions {
  /** audit's base URL, e.g. http://127.0.0.1:4003. */
  url: string;
  minter: ServiceTokenMinter;
  timeoutMs?: number;
}

/** A `deliver` for OutboxRelay: resolves once audit stored (or already had) every event. */
export function auditDelivery(options: AuditDeliveryOptions): (events: AuditEventInput[]) => Promise<void> {
  return async (events) => {
    const response = await fetch(`${options.url}/internal/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await options.minter.mint('audit')}` },
      body: JSON.stringify({ events }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const detail = `audit answered ${response.status}: ${(await response.text().catch(() => '')).slice(0, 300)}`;
    if (response.status >= 400 && response.status < 500 && response.status !== 401 && response.status !== 408 && response.status !== 429) {
      throw new DeliveryRejected(detail);
    }
    if (!response.ok) throw new Error(detail);
  };
}
