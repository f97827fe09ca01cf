// Error codes the identity subgraph promises to clients (documented in docs/errors.md).
import { AppError } from '@citadel/kit/errors';

export const IDENTITY_ERRORS = {
  EMAIL_TAKEN: 'EMAIL_TAKEN',
  WEAK_PASSWORD: 'WEAK_PASSWORD',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  INVALID_REFRESH_TOKEN: 'INVALID_REFRESH_TOKEN',
  INVALID_VERIFICATION_TOKEN: 'INVALID_VERIFICATION_TOKEN',
  INVALID_RESET_TOKEN: 'INVALID_RESET_TOKEN',
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
