// The chain's exact form: the canonical JSON of a stored event and the hash linking it to the one
// before. docs/audit.md describes the same thing for anyone verifying an export independently.
import { createHash } from 'node:crypto';

/** The prev_hash of the first event ever recorded. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Every stored column of an event except prev_hash and hash, under the names the export uses.
 * Flat on purpose: each column is its own key, so no two different rows share a canonical form
 * (a nested `target: null` would hide a target_id written without a target_type).
 */
export interface ChainedEvent {
  seq: number;
  id: string;
  /** `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds, as PostgreSQL holds it). */
  occurredAt: string;
  recordedAt: string;
  service: string;
  actorType: string;
  actorId: string | null;
  actorSessionId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: string;
  reason: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  traceId: string | null;
  operationName: string | null;
  changes: unknown;
}

/** A stored event with its links. */
export interface StoredEvent extends ChainedEvent {
  prevHash: string;
  hash: string;
}

/**
 * JSON with object keys sorted by UTF-16 code units at every depth and no whitespace; strings and
 * numbers as ECMAScript's JSON.stringify writes them. For the values an event holds this is the
 * JSON Canonicalization Scheme (RFC 8785).
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: numbers must be finite');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} is not JSON`);
  }
}

/** The chained fields, in canonical (sorted) order, each with its JSON-encoded key. */
const FIELDS = (
  [
    'seq',
    'id',
    'occurredAt',
    'recordedAt',
    'service',
    'actorType',
    'actorId',
    'actorSessionId',
    'action',
    'targetType',
    'targetId',
    'outcome',
    'reason',
    'ip',
    'userAgent',
    'requestId',
    'traceId',
    'operationName',
    'changes',
  ] satisfies (keyof ChainedEvent)[]
)
  .sort()
  .map((name) => ({ name, key: `${JSON.stringify(name)}:` }));

/**
 * The canonical form of an event: canonicalJson of its chained fields only (seq included, so order
 * is covered). Written field by field: verification runs this for every stored event.
 */
export function canonicalEvent(event: ChainedEvent): string {
  let json = '{';
  for (let i = 0; i < FIELDS.length; i++) {
    const field = FIELDS[i]!;
    json += `${i === 0 ? '' : ','}${field.key}${canonicalJson(event[field.name])}`;
  }
  return `${json}}`;
}

/** `sha256(prevHash || canonical(event))`, lower-case hex; prevHash is the 64-character hex string. */
export function chainHash(prevHash: string, event: ChainedEvent): string {
  return createHash('sha256').update(prevHash, 'utf8').update(canonicalEvent(event), 'utf8').digest('hex');
}

/** A time in the chain's form: UTC with six fractional digits, as PostgreSQL's to_char(…US) writes it. */
export function chainTime(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000Z`;
}

/** SQL reading a timestamptz column in the chain's form. */
export const chainTimeSql = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
