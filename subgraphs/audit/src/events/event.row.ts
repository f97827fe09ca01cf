// One stored event as SQL returns it, and the select list that reads it in the chain's form.
// `seq` stays a bigint in SQL (so `order by "seq"` is numeric); the driver hands it over as text.
import { chainTimeSql, type StoredEvent } from '../chain/canonical';

export const EVENT_COLUMNS = `
  "seq", "id"::text as "id",
  ${chainTimeSql('"occurred_at"')} as "occurredAt", ${chainTimeSql('"recorded_at"')} as "recordedAt",
  "service", "actor_type" as "actorType", "actor_id" as "actorId", "actor_session_id" as "actorSessionId",
  "action", "target_type" as "targetType", "target_id" as "targetId", "outcome", "reason", "ip",
  "user_agent" as "userAgent", "request_id" as "requestId", "trace_id" as "traceId",
  "operation_name" as "operationName", "changes", "prev_hash" as "prevHash", "hash"`;

/** Longest value of each text filter (its column's size); a longer one is BAD_USER_INPUT. */
export const FILTER_MAX_LENGTH = { actorId: 128, action: 128, targetType: 64, targetId: 256, service: 64 } as const;

export type EventRow = Omit<StoredEvent, 'seq'> & { seq: string };

/** bigint arrives as text; every seq fits a JS number (2^53). */
export function toStoredEvent(row: EventRow): StoredEvent {
  return { ...row, seq: Number(row.seq) };
}

export const CHECKPOINT_COLUMNS = `
  "seq", "hash", ${chainTimeSql('"signed_at"')} as "signedAt", "key_id" as "keyId", "signature"`;

export interface CheckpointRow {
  seq: string;
  hash: string;
  signedAt: string;
  keyId: string;
  signature: string;
}
