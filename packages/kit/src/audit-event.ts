// The shape of an audit event, as producers write it to their outbox and audit ingests it.
// Producers never put a password, token or secret in it: `redactChanges` runs on `changes`.

export type ActorType = 'user' | 'service' | 'anonymous';
export type Outcome = 'success' | 'failure' | 'denied';

export interface AuditEventInput {
  /** UUID chosen by the producer: ingestion is idempotent on it. */
  id: string;
  /** ISO-8601 time of the change, from the producer. */
  occurredAt: string;
  /** The producing service (`identity`, `authz`, `gateway`, …). */
  service: string;
  actor: { type: ActorType; id: string | null; sessionId: string | null };
  /** `<module>.<resource>.<verb>`, past tense: `identity.login.succeeded`, `authz.grant.created`. */
  action: string;
  target: { type: string; id: string | null } | null;
  outcome: Outcome;
  /** Why, for failures and denials: a stable code such as `INVALID_CREDENTIALS`. */
  reason: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  traceId: string | null;
  operationName: string | null;
  /** Before and after, redacted. */
  changes: { before: Record<string, unknown> | null; after: Record<string, unknown> | null } | null;
}

/** Keys whose values never enter an event, at any depth. */
const SECRET_KEY = /pass(word)?|secret|token|otp|totp|code|hash|key|credential|authorization|cookie/i;
export const REDACTED = '[REDACTED]';

/** A copy with every secret-looking key's value replaced by `[REDACTED]`. */
export function redact<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redact(v)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) ? REDACTED : redact(v)]),
    ) as T;
  }
  return value;
}

export const ACTION_PATTERN = /^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/;
