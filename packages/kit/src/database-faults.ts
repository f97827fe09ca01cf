// Tells a database that is down, restarting or too slow apart from a bug: the first is the
// client's SERVICE_UNAVAILABLE (try again shortly), the second stays INTERNAL_SERVER_ERROR.

/** Why the database could not do the work: not there (down, restarting, pool exhausted), or too slow. */
export type DatabaseFault = 'DATABASE_UNAVAILABLE' | 'DATABASE_TIMEOUT';

/** Socket errors of a server that is not there or went away. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * SQLSTATEs of an unavailable server: class 08 (connection exception), 57P01-57P03 (shutting down,
 * crashed, starting up), 53300 (too many connections). 57014 is a cancelled statement: ours is
 * only ever cancelled by statement_timeout.
 */
function faultOfSqlState(state: string): DatabaseFault | undefined {
  if (state === '57014') return 'DATABASE_TIMEOUT';
  if (state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03' || state === '53300') return 'DATABASE_UNAVAILABLE';
  return undefined;
}

/** node-postgres and knex say these without a code (knex puts the statement in front: `<sql> - <message>`). */
const UNAVAILABLE_MESSAGES = [
  /^Knex: Timeout acquiring a connection/,
  /(^| - )Connection terminated/,
  /(^| - )timeout exceeded when trying to connect/,
  /(^| - )timeout expired$/, // node-postgres' connectionTimeoutMillis
  /is not queryable$/,
  // knex, for a query in a transaction that already ended: in our code (no query after commit) that
  // is a transaction whose connection was lost under it.
  /^Transaction query already complete/,
];

/** The fault behind `error` (or behind the errors it wraps), or undefined when it is something else. */
export function databaseFault(error: unknown): DatabaseFault | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const { code, sqlState } = current as Error & { code?: unknown; sqlState?: unknown };
    for (const value of [code, sqlState]) {
      if (typeof value !== 'string') continue;
      if (NETWORK_CODES.has(value)) return 'DATABASE_UNAVAILABLE';
      if (/^[0-9A-Z]{5}$/.test(value)) {
        const fault = faultOfSqlState(value);
        if (fault) return fault;
      }
    }
    if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(current instanceof Error ? current.message : ''))) return 'DATABASE_UNAVAILABLE';
    // Only GraphQL's wrapping is unwrapped, never `cause`: the database's errors carry their code
    // themselves, while a failed fetch (to a subgraph, to authz) keeps its socket error in `cause`,
    // and that is not the database being unavailable.
    const next: unknown = (current as { originalError?: unknown }).originalError;
    if (next === current) break;
    current = next;
  }
  return undefined;
}

/** What a client is told: no SQL, no host names, only what to do. */
export const DATABASE_FAULT_MESSAGES: Record<DatabaseFault, string> = {
  DATABASE_UNAVAILABLE: 'The database is unavailable; try again shortly',
  DATABASE_TIMEOUT: 'The database took too long to answer; try again shortly',
};

/**
 * How background work (a relay, a mirror) logs a failed pass: a database fault is expected during
 * an outage and retried by the next pass, so it is a warning without a stack; anything else an error.
 */
export function logPassFailure(logger: { warn(o: object, m: string): void; error(o: object, m: string): void }, error: unknown, message: string): void {
  const fault = databaseFault(error);
  if (fault) logger.warn({ fault }, `${message}: ${DATABASE_FAULT_MESSAGES[fault].toLowerCase()}; the next pass retries`);
  else logger.error({ err: error }, message);
}
