// Error codes the workspaces subgraph promises to clients (documented in docs/workspaces.md).
import { AppError, COMMON_ERRORS, subscriptionInterrupted } from '@citadel/kit/errors';

export const WORKSPACES_ERRORS = {
  LAST_OWNER: 'LAST_OWNER',
  ALREADY_MEMBER: 'ALREADY_MEMBER',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  FORBIDDEN: COMMON_ERRORS.FORBIDDEN,
  NOT_FOUND: COMMON_ERRORS.NOT_FOUND,
  VERSION_CONFLICT: COMMON_ERRORS.VERSION_CONFLICT,
  BAD_USER_INPUT: COMMON_ERRORS.BAD_USER_INPUT,
  SUBSCRIPTION_INTERRUPTED: COMMON_ERRORS.SUBSCRIPTION_INTERRUPTED,
} as const;

export const lastOwner = () =>
  new AppError(WORKSPACES_ERRORS.LAST_OWNER, 'A workspace needs an owner: make someone else owner first, or delete the workspace');
export const alreadyMember = () => new AppError(WORKSPACES_ERRORS.ALREADY_MEMBER, 'This user is a member already; change their role instead');
export const idempotencyKeyReused = () =>
  new AppError(WORKSPACES_ERRORS.IDEMPOTENCY_KEY_REUSED, 'This idempotency key was used for a different todo; use a new key for a new request');
export const forbidden = (message: string) => new AppError(WORKSPACES_ERRORS.FORBIDDEN, message);
/** The same answer whether the workspace does not exist or the caller is not in it. */
export const workspaceNotFound = () => new AppError(WORKSPACES_ERRORS.NOT_FOUND, 'No such workspace');
/** addMember by email: tells a member manager whether an address has an account (docs/workspaces.md). */
export const noAccountWithEmail = () => new AppError(WORKSPACES_ERRORS.NOT_FOUND, 'No account with this email');
export const todoNotFound = () => new AppError(WORKSPACES_ERRORS.NOT_FOUND, 'No such todo');
/** Ends a live subscription of someone removed from the workspace, or who left it. */
export const noLongerMember = () => new AppError(WORKSPACES_ERRORS.FORBIDDEN, 'You are no longer a member of this workspace');
export const workspaceDeleted = () => new AppError(WORKSPACES_ERRORS.NOT_FOUND, 'This workspace was deleted');
/** A subscriber so far behind that its queue filled: it must reload what it shows and subscribe again. */
export const eventsOverflowed = (maxQueue: number) =>
  subscriptionInterrupted('SLOW_READER', `More than ${maxQueue} events were waiting for this subscription; reload the todos and subscribe again`);
export const versionConflict = (currentVersion: number) =>
  new AppError(WORKSPACES_ERRORS.VERSION_CONFLICT, 'The todo changed since you read it; reload it and apply your change again', { currentVersion });
