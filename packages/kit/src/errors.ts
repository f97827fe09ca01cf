// Stable error codes: expected failures carry `extensions.code`; anything else is masked.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';

export const COMMON_ERRORS = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  UNAUTHORIZED_FIELD_OR_TYPE: 'UNAUTHORIZED_FIELD_OR_TYPE',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  VERSION_CONFLICT: 'VERSION_CONFLICT',
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
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

export const unauthenticated = (message = 'Authentication required') =>
  new AppError(COMMON_ERRORS.UNAUTHENTICATED, message);
export const badUserInput = (message: string, extensions: Record<string, unknown> = {}) =>
  new AppError(COMMON_ERRORS.BAD_USER_INPUT, message, extensions);
export const notFound = (message = 'Not found') => new AppError(COMMON_ERRORS.NOT_FOUND, message);

/**
 * Apollo Server `formatError`: keeps AppErrors and other coded GraphQL errors (including those a
 * subgraph returned, which that subgraph already masked), masks everything else as
 * INTERNAL_SERVER_ERROR, logged once.
 */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    const { stacktrace: _ignored, ...extensions } = formatted.extensions ?? {};
    if (original instanceof AppError) {
      // Apollo re-codes validation-rule errors as GRAPHQL_VALIDATION_FAILED; ours keep their own code.
      return { ...formatted, extensions: { ...extensions, ...original.extensions, code: original.code } };
    }
    const code = extensions.code ?? codeOf(original);
    const thrownByCode = original instanceof Error && !(original instanceof GraphQLError);
    if (typeof code === 'string' && code !== COMMON_ERRORS.INTERNAL_SERVER_ERROR && !thrownByCode) {
      return { ...formatted, extensions: { ...extensions, code } };
    }
    if (code !== COMMON_ERRORS.INTERNAL_SERVER_ERROR || thrownByCode) {
      logger.error({ err: original, path: formatted.path }, 'unexpected error');
    }
    return {
      message: 'Internal server error',
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: COMMON_ERRORS.INTERNAL_SERVER_ERROR },
    };
  };
}

function codeOf(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as { extensions?: { code?: unknown } }).extensions?.code;
}
