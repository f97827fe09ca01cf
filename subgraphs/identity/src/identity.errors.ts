// Error codes the identity subgraph promises to clients (documented in docs/errors.md).
import { CountersUnavailable } from '@citadel/kit/counters';
import { AppError } from '@citadel/kit/errors';

export const IDENTITY_ERRORS = {
  EMAIL_TAKEN: 'EMAIL_TAKEN',
  WEAK_PASSWORD: 'WEAK_PASSWORD',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  INVALID_REFRESH_TOKEN: 'INVALID_REFRESH_TOKEN',
  INVALID_VERIFICATION_TOKEN: 'INVALID_VERIFICATION_TOKEN',
  INVALID_RESET_TOKEN: 'INVALID_RESET_TOKEN',
  MFA_ALREADY_ENABLED: 'MFA_ALREADY_ENABLED',
  MFA_NOT_ENABLED: 'MFA_NOT_ENABLED',
  INVALID_MFA_CODE: 'INVALID_MFA_CODE',
  INVALID_MFA_CHALLENGE: 'INVALID_MFA_CHALLENGE',
  REAUTHENTICATION_REQUIRED: 'REAUTHENTICATION_REQUIRED',
  ACCOUNT_DISABLED: 'ACCOUNT_DISABLED',
  CANNOT_DISABLE_SELF: 'CANNOT_DISABLE_SELF',
  FORBIDDEN: 'FORBIDDEN',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INVALID_EMAIL: 'BAD_USER_INPUT',
} as const;

export const emailTaken = () => new AppError(IDENTITY_ERRORS.EMAIL_TAKEN, 'An account with this email already exists');
export const weakPassword = (reason: string, message: string) =>
  new AppError(IDENTITY_ERRORS.WEAK_PASSWORD, message, { reason });
/** One message for a wrong password and an unknown email: it must not reveal which. */
export const invalidCredentials = () =>
  new AppError(IDENTITY_ERRORS.INVALID_CREDENTIALS, 'Email or password is incorrect');
export const invalidRefreshToken = () =>
  new AppError(IDENTITY_ERRORS.INVALID_REFRESH_TOKEN, 'Refresh token is invalid, expired or already used');
export const invalidVerificationToken = () =>
  new AppError(IDENTITY_ERRORS.INVALID_VERIFICATION_TOKEN, 'Verification link is invalid, expired or already used');
export const invalidResetToken = () =>
  new AppError(IDENTITY_ERRORS.INVALID_RESET_TOKEN, 'Reset link is invalid, expired or already used');
export const mfaAlreadyEnabled = () =>
  new AppError(IDENTITY_ERRORS.MFA_ALREADY_ENABLED, 'Two-factor authentication is already on; disable it first');
export const mfaNotEnabled = () =>
  new AppError(IDENTITY_ERRORS.MFA_NOT_ENABLED, 'Two-factor authentication is not set up; call enableTotp first');
export const invalidMfaCode = () => new AppError(IDENTITY_ERRORS.INVALID_MFA_CODE, 'The code is wrong or was already used');
export const invalidMfaChallenge = () =>
  new AppError(IDENTITY_ERRORS.INVALID_MFA_CHALLENGE, 'The sign-in challenge is invalid, expired or out of attempts; sign in again');
export const reauthenticationRequired = () =>
  new AppError(IDENTITY_ERRORS.REAUTHENTICATION_REQUIRED, 'Sign in again to change two-factor settings');
/** Only after the right password (or second factor): a wrong one stays INVALID_CREDENTIALS. */
export const accountDisabled = () => new AppError(IDENTITY_ERRORS.ACCOUNT_DISABLED, 'This account is disabled');
/** The account holds permissions the administrator does not (`missing` names them). */
export const cannotDisableMorePrivileged = (missing: readonly string[]) =>
  new AppError(IDENTITY_ERRORS.FORBIDDEN, 'You can disable only accounts whose permissions you hold yourself', { missing });
export const permissionsUnavailable = () =>
  new AppError(IDENTITY_ERRORS.SERVICE_UNAVAILABLE, "Cannot read the account's permissions right now; try again shortly");
/** Attempts cannot be counted (Redis unreachable): refused, never let through uncounted. */
export const attemptsUncountable = (message = 'Attempts cannot be counted right now; try again shortly') =>
  new AppError(IDENTITY_ERRORS.SERVICE_UNAVAILABLE, message, { reason: 'COUNTERS_UNAVAILABLE' });
/** For `.catch` on a counter call that guards guessing: fails closed with SERVICE_UNAVAILABLE. */
export const failClosed =
  (message?: string) =>
  (error: unknown): never => {
    throw error instanceof CountersUnavailable ? attemptsUncountable(message) : error;
  };
export const cannotDisableSelf = () =>
  new AppError(IDENTITY_ERRORS.CANNOT_DISABLE_SELF, 'You cannot disable your own account; ask another administrator');
