// Stable error codes: expected failures carry `extensions.code`; anything else is masked.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from 'pino';
import { DATABASE_FAULT_MESSAGES, databaseFault } from './database-faults';

export const COMMON_ERRORS = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  UNAUTHORIZED_FIELD_OR_TYPE: 'UNAUTHORIZED_FIELD_OR_TYPE',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  VERSION_CONFLICT: 'VERSION_CONFLICT',
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  /** The service cannot do the work right now (its database is down or too slow, `reason` says which); try again shortly. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** A live subscription ended because it would otherwise miss events (`reason`: SLOW_READER, READ_FAILED). */
  SUBSCRIPTION_INTERRUPTED: 'SUBSCRIPTION_INTERRUPTED',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

/** An error a client is expected to handle; its code is part of the API. */
export class AppError extends GraphQLError {
  constructor(code: string, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
    this.name = 'AppError';
  }
  get code(): string {
    return String(this.extensions.code);
  }
}

/**
 * Ends a subscription that would otherwise miss events: its reader fell too far behind
 * (SLOW_READER) or a batch could not be read (READ_FAILED). The client re-reads, then resubscribes.
 */
export const subscriptionInterrupted = (reason: 'SLOW_READER' | 'READ_FAILED', message: string) =>
  new AppError(COMMON_ERRORS.SUBSCRIPTION_INTERRUPTED, message, { reason });

export const unauthenticated = (message = 'Authentication required') =>
  new AppError(COMMON_ERRORS.UNAUTHENTICATED, message);
export const badUserInput = (message: string, extensions: Record<string, unknown> = {}) =>
  new AppError(COMMON_ERRORS.BAD_USER_INPUT, message, extensions);
export const notFound = (message = 'Not found') => new AppError(COMMON_ERRORS.NOT_FOUND, message);

/** Extensions that describe our internals (stacks, upstream responses): never sent to clients. */
const PRIVATE_EXTENSIONS = new Set(['stacktrace', 'exception', 'response', 'http']);

/**
 * The stable code of an error a client is meant to handle, or undefined for an unexpected one:
 * a thrown plain Error, a GraphQLError without a code, INTERNAL_SERVER_ERROR.
 */
export function expectedCode(error: unknown): string | undefined {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (original instanceof AppError) return original.code;
  if (databaseFault(original)) return COMMON_ERRORS.SERVICE_UNAVAILABLE;
  if (original instanceof Error && !(original instanceof GraphQLError)) return undefined;
  const code = codeOf(error) ?? codeOf(original);
  return typeof code === 'string' && code !== COMMON_ERRORS.INTERNAL_SERVER_ERROR ? code : undefined;
}

/**
 * Apollo Server `formatError`: keeps expected errors (AppErrors, coded GraphQL errors, and those a
 * subgraph returned, which that subgraph already masked) without their private extensions, and
 * masks everything else as INTERNAL_SERVER_ERROR. Logging is `errorLoggingPlugin`'s job.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const fault = databaseFault(error instanceof GraphQLError ? (error.originalError ?? error) : error);
  if (fault) {
    return {
      message: DATABASE_FAULT_MESSAGES[fault],
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: COMMON_ERRORS.SERVICE_UNAVAILABLE, reason: fault },
    };
  }
  const code = expectedCode(error);
  if (code) {
    const original = error instanceof GraphQLError ? error.originalError : undefined;
    const own = original instanceof AppError ? original.extensions : {};
    const extensions = Object.fromEntries(
      Object.entries({ ...formatted.extensions, ...own }).filter(([key]) => !PRIVATE_EXTENSIONS.has(key)),
    );
    // Apollo re-codes validation-rule errors as GRAPHQL_VALIDATION_FAILED; ours keep their own code.
    return { ...formatted, extensions: { ...extensions, code } };
  }
  return {
    message: 'Internal server error',
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: COMMON_ERRORS.INTERNAL_SERVER_ERROR },
  };
}

/**
 * Logs each unexpected error once, with the request's logger (request id, user id). An internal
 * error relayed from a subgraph was logged there already, under the same request id.
 */
export function errorLoggingPlugin(): ApolloServerPlugin<{ logger: Logger }> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          let faultSaid = false;
          for (const error of errors) {
            const fault = databaseFault(error.originalError ?? error);
            // Said once per request, without the driver's message (it may quote SQL and values).
            if (fault) {
              if (!faultSaid) contextValue.logger.warn({ fault, err: loggable(error.originalError ?? error), path: error.path }, 'database unavailable');
              faultSaid = true;
              continue;
            }
            if (expectedCode(error)) continue;
            if (error.extensions?.serviceName && codeOf(error) === COMMON_ERRORS.INTERNAL_SERVER_ERROR) continue;
            contextValue.logger.error({ err: loggable(error.originalError ?? error), path: error.path }, 'unexpected error');
          }
        },
      };
    },
  };
}
function codeOf(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as { extensions?: { code?: unknown } }).extensions?.code;
}

/**
 * Database driver errors quote the failed SQL with its values (password hashes, token hashes):
 * log their class and SQLSTATE only.
 */
function loggable(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const driver = error as Error & { code?: unknown; sqlState?: unknown };
  const isDriver = /Exception$/.test(error.name) || typeof driver.sqlState === 'string';
  if (!isDriver) return error;
  return { type: error.name, code: driver.code ?? driver.sqlState, message: 'database error (statement and values not logged)' };
}
