// Error codes the authz subgraph promises to clients (documented in docs/errors.md).
import { AppError, COMMON_ERRORS } from '@citadel/kit/errors';

export const AUTHZ_ERRORS = {
  ROLE_NAME_TAKEN: 'ROLE_NAME_TAKEN',
  BUILT_IN_ROLE: 'BUILT_IN_ROLE',
  UNKNOWN_PERMISSION: 'UNKNOWN_PERMISSION',
  INVALID_SCOPE: 'INVALID_SCOPE',
  LAST_ADMIN: 'LAST_ADMIN',
  FORBIDDEN: COMMON_ERRORS.FORBIDDEN,
} as const;

export const roleNameTaken = () => new AppError(AUTHZ_ERRORS.ROLE_NAME_TAKEN, 'A role with this name already exists');
export const builtInRole = (name: string, what: string) =>
  new AppError(AUTHZ_ERRORS.BUILT_IN_ROLE, `The built-in role "${name}" cannot be ${what}`);
export const unknownPermissions = (codes: string[]) =>
  new AppError(AUTHZ_ERRORS.UNKNOWN_PERMISSION, `Unknown permission: ${codes.join(', ')}`, { codes });
export const invalidScope = () =>
  new AppError(AUTHZ_ERRORS.INVALID_SCOPE, 'A scope is "global" or "<type>:<id>", e.g. "workspace:0b5e…"');
export const lastAdmin = () =>
  new AppError(AUTHZ_ERRORS.LAST_ADMIN, 'This is the last global admin grant; grant admin to someone else first');
/** Granting what you do not hold yourself would be a way to raise your own permissions. */
export const cannotDelegate = (codes: string[]) =>
  new AppError(AUTHZ_ERRORS.FORBIDDEN, 'You can only hand out permissions you hold yourself', { missing: codes });
export const forbidden = (message: string) => new AppError(AUTHZ_ERRORS.FORBIDDEN, message);
