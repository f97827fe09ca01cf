// What ingestion accepts: the kit's AuditEventInput, validated and normalized into the values that
// are stored and hashed. Fields a client controls (user agent, operation name, changes) are
// shortened rather than refused: a client must not be able to keep its own action out of the trail.
import { ACTION_PATTERN, redact, type AuditEventInput } from '@citadel/kit/audit-event';
import { z } from '@citadel/kit/env';

export const MAX_EVENTS_PER_BATCH = 500;
/** Canonical JSON of `changes` above this is replaced by a note saying it was left out. */
export const MAX_CHANGES_BYTES = 32_768;
const MAX_CHANGES_DEPTH = 32;
const MAX_USER_AGENT = 512;
const MAX_OPERATION_NAME = 256;
/** occurredAt outside these years is a producer's bug (and would not round-trip the chain's time form). */
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(9999, 11, 31);

/** An event ready to be chained: every string well-formed, times in ISO form with milliseconds. */
export interface NormalizedEvent {
  id: string;
  occurredAt: Date;
  service: string;
  actorType: AuditEventInput['actor']['type'];
  actorId: string | null;
  actorSessionId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: AuditEventInput['outcome'];
  reason: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  traceId: string | null;
  operationName: string | null;
  changes: unknown;
}

/**
 * PostgreSQL stores neither NUL nor unpaired surrogates (text turns them into U+FFFD, jsonb refuses
 * them): they become U+FFFD here, so the hash is computed over what is actually stored.
 */
export function wellFormed(value: string): string {
  return value.replace(/\p{Cs}/gu, '\uFFFD').replaceAll('\u0000', '\uFFFD');
}

const text = (max: number) => z.string().min(1).max(max).transform(wellFormed);
const optional = (max: number) =>
  text(max)
    .nullish()
    .transform((v) => v ?? null);
const clipped = (max: number) =>
  z
    .string()
    .nullish()
    .transform((v) => (v ? wellFormed(v).slice(0, max) : null));

const changesShape = z
  .object({
    before: z.record(z.string(), z.unknown()).nullish(),
    after: z.record(z.string(), z.unknown()).nullish(),
  })
  .nullish();

export const auditEventSchema = z.object({
  id: z.string().uuid().transform((v) => v.toLowerCase()),
  occurredAt: z.iso
    .datetime({ offset: true })
    .transform((v) => new Date(v))
    .refine((d) => d.getTime() >= EARLIEST && d.getTime() <= LATEST, 'must be between the years 2000 and 9999'),
  service: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a service name such as "identity"'),
  actor: z
    .object({
      type: z.enum(['user', 'service', 'anonymous']),
      id: optional(128),
      sessionId: optional(128),
    })
    .refine((a) => a.type !== 'user' || a.id !== null, { message: 'a user actor needs an id', path: ['id'] }),
  action: z.string().max(128).regex(ACTION_PATTERN, 'must be <module>.<resource>.<verb>, lower case'),
  target: z.object({ type: text(64), id: optional(256) }).nullish(),
  outcome: z.enum(['success', 'failure', 'denied']),
  reason: optional(500),
  ip: optional(64),
  userAgent: clipped(MAX_USER_AGENT),
  requestId: optional(128),
  traceId: optional(128),
  operationName: clipped(MAX_OPERATION_NAME),
  changes: changesShape,
});

export const ingestBody = z.object({ events: z.array(z.unknown()).max(MAX_EVENTS_PER_BATCH) });

export type ParsedEvent = z.infer<typeof auditEventSchema>;

export function normalizeEvent(event: ParsedEvent): NormalizedEvent {
  return {
    id: event.id,
    occurredAt: event.occurredAt,
    service: event.service,
    actorType: event.actor.type,
    actorId: event.actor.id,
    actorSessionId: event.actor.sessionId,
    action: event.action,
    targetType: event.target?.type ?? null,
    targetId: event.target?.id ?? null,
    outcome: event.outcome,
    reason: event.reason,
    ip: event.ip,
    userAgent: event.userAgent,
    requestId: event.requestId,
    traceId: event.traceId,
    operationName: event.operationName,
    changes: boundedChanges(event.changes),
  };
}

/**
 * `changes` redacted again (producers redact too: defense in depth), every string made storable,
 * and replaced by `{ omitted: 'TOO_LARGE' | 'TOO_DEEP', … }` when it would be unreasonable to keep.
 */
export function boundedChanges(changes: ParsedEvent['changes']): unknown {
  if (!changes) return null;
  const value = { before: changes.before ?? null, after: changes.after ?? null };
  if (depthOf(value) > MAX_CHANGES_DEPTH) return { omitted: 'TOO_DEEP', maxDepth: MAX_CHANGES_DEPTH };
  const clean = storable(redact(value));
  const bytes = Buffer.byteLength(JSON.stringify(clean), 'utf8');
  return bytes > MAX_CHANGES_BYTES ? { omitted: 'TOO_LARGE', bytes, maxBytes: MAX_CHANGES_BYTES } : clean;
}

function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_CHANGES_DEPTH) return depth;
  if (value === null || typeof value !== 'object') return depth;
  let max = depth + 1;
  for (const child of Object.values(value as Record<string, unknown>)) max = Math.max(max, depthOf(child, depth + 1));
  return max;
}

/** JSON values with well-formed strings (keys too). */
function storable(value: unknown): unknown {
  if (typeof value === 'string') return wellFormed(value);
  if (Array.isArray(value)) return value.map(storable);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [wellFormed(k), storable(v)]));
  }
  return value;
}

/** Each invalid event by index, with what is wrong; valid ones parsed. */
export function parseEvents(raw: readonly unknown[]): { events: NormalizedEvent[]; problems: string[] } {
  const events: NormalizedEvent[] = [];
  const problems: string[] = [];
  raw.forEach((candidate, index) => {
    const result = auditEventSchema.safeParse(candidate);
    if (result.success) events.push(normalizeEvent(result.data));
    else problems.push(...result.error.issues.map((i) => `events.${index}.${i.path.join('.')}: ${i.message}`));
  });
  return { events, problems };
}
