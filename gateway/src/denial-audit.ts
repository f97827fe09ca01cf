// Sends the gateway's authorization denials to audit. The gateway has no outbox (no database), so
// denials wait in a bounded in-memory buffer and are retried; what overflows it is dropped and
// counted, never allowed to slow or fail a request.
import { randomUUID } from 'node:crypto';
import type { Caller, ClientInfo, InternalTokenMinter } from '@citadel/kit/auth';
import { ANONYMOUS } from '@citadel/kit/auth';
import type { AuditEventInput } from '@citadel/kit/audit-event';
import type { Logger } from '@citadel/kit/logger';
import { Counter, type Registry } from 'prom-client';

export interface Denial {
  caller: Pick<Caller, 'userId' | 'sessionId'>;
  client: ClientInfo;
  requestId: string | null;
  operationName: string | null;
  coordinates: string[];
  mode: 'filter' | 'reject';
}

export interface DenialAuditOptions {
  auditUrl: string;
  minter: InternalTokenMinter;
  logger: Logger;
  /** Denials kept while audit is unreachable; more are dropped (and counted). */
  capacity?: number;
  flushMs?: number;
}

const BATCH = 200;

export class DenialAudit {
  private readonly buffer: AuditEventInput[] = [];
  private readonly capacity: number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private dropped: Counter | undefined;
  private failures = 0;

  constructor(private readonly options: DenialAuditOptions) {
    this.capacity = options.capacity ?? 10_000;
  }

  useMetrics(registry: Registry): void {
    this.dropped = new Counter({
      name: 'citadel_audit_denials_dropped_total',
      help: 'Authorization denials not sent to audit because the retry buffer was full',
      registers: [registry],
    });
  }

  record(denial: Denial): void {
    if (this.buffer.length >= this.capacity) {
      this.dropped?.inc();
      return;
    }
    // The client names its operation: clipped, so a long name cannot get the event refused.
    const operationName = denial.operationName?.slice(0, 200) ?? null;
    this.buffer.push({
      id: randomUUID(),
      occurredAt: new Date().toISOString(),
      service: 'gateway',
      actor: denial.caller.userId
        ? { type: 'user', id: denial.caller.userId, sessionId: denial.caller.sessionId }
        : { type: 'anonymous', id: null, sessionId: null },
      action: 'gateway.authorization.denied',
      target: { type: 'Operation', id: operationName },
      outcome: 'denied',
      reason: 'UNAUTHORIZED_FIELD_OR_TYPE',
      ip: denial.client.ip,
      userAgent: denial.client.userAgent,
      requestId: denial.requestId,
      traceId: null,
      operationName,
      changes: { before: null, after: { coordinates: denial.coordinates.slice(0, 100), mode: denial.mode } },
    });
    if (this.buffer.length >= BATCH) void this.flush();
  }

  start(): void {
    const tick = () => {
      void this.flush();
      // Back off while audit is down: 0.5 s, 1 s, 2 s … up to 30 s.
      this.timer = setTimeout(tick, Math.min(30_000, (this.options.flushMs ?? 500) * 2 ** Math.min(this.failures, 6)));
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.flush();
  }

  /** Sends what is buffered, a batch at a time; on failure the batch stays for the next try. */
  flush(): Promise<void> {
    this.flushing ??= this.send().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async send(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, BATCH);
      try {
        const token = await this.options.minter.mint(ANONYMOUS, 'audit');
        const response = await fetch(`${this.options.auditUrl}/internal/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ events: batch }),
          signal: AbortSignal.timeout(5_000),
        });
        if (response.status >= 400 && response.status < 500) {
          // Refused as it is: retrying cannot help, and keeping it would block every later denial.
          this.options.logger.error({ status: response.status, body: (await response.text()).slice(0, 500) }, 'audit refused a batch of denials; dropped');
          this.dropped?.inc(batch.length);
          this.buffer.splice(0, batch.length);
          continue;
        }
        if (!response.ok) throw new Error(`audit answered ${response.status}`);
      } catch (error) {
        this.failures += 1;
        const log = this.failures >= 3 ? this.options.logger.warn : this.options.logger.debug;
        log.call(this.options.logger, { err: error, buffered: this.buffer.length }, 'could not send authorization denials to audit; will retry');
        return;
      }
      this.failures = 0;
      this.buffer.splice(0, batch.length);
    }
  }
}
