// The CLI's failures and the exit code each one ends the process with (listed in docs/cli.md).

export const EXIT = {
  OK: 0,
  /** The gateway answered with an error (its extensions.code is printed). */
  API_ERROR: 1,
  /** Bad command line: unknown command or option, missing argument. */
  USAGE: 2,
  /** Not signed in, or the session ended and could not be refreshed: run `citadel login`. */
  AUTH: 3,
  /** The gateway could not be reached, or answered something that is not GraphQL. */
  NETWORK: 4,
  /** `watch`: the server ended the subscription with a reason. */
  SUBSCRIPTION_ENDED: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure to report as one line on stderr: `citadel: <code>: <message>`. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super('USAGE', message, EXIT.USAGE);
  }
}

/** An error the gateway returned, with its extensions.code. */
export class ApiError extends CliError {
  constructor(code: string, message: string) {
    super(code, message, code === 'UNAUTHENTICATED' ? EXIT.AUTH : EXIT.API_ERROR);
  }
}

export class NotSignedIn extends CliError {
  constructor(url: string) {
    super('NOT_SIGNED_IN', `not signed in to ${url}; run \`citadel login\``, EXIT.AUTH);
  }
}

export class NetworkError extends CliError {
  constructor(message: string) {
    super('NETWORK_ERROR', message, EXIT.NETWORK);
  }
}

/** The one line printed for an error; anything that is not a CliError is a bug, reported without a stack. */
export function errorLine(error: unknown): { line: string; exitCode: number } {
  if (error instanceof CliError) return { line: `citadel: ${error.code}: ${error.message}`, exitCode: error.exitCode };
  const message = error instanceof Error ? error.message : String(error);
  return { line: `citadel: INTERNAL_ERROR: ${message}`, exitCode: EXIT.API_ERROR };
}
