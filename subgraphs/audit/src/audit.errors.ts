// Error codes the audit subgraph promises to clients (documented in docs/audit.md).
import { AppError, badUserInput, COMMON_ERRORS, subscriptionInterrupted as interrupted } from '@citadel/kit/errors';

export const AUDIT_ERRORS = {
  FORBIDDEN: COMMON_ERRORS.FORBIDDEN,
  BAD_USER_INPUT: COMMON_ERRORS.BAD_USER_INPUT,
  /** A live subscription was ended because it would otherwise miss events (a slow reader, a failed read). */
  SUBSCRIPTION_INTERRUPTED: COMMON_ERRORS.SUBSCRIPTION_INTERRUPTED,
} as const;

export const forbidden = (message: string) => new AppError(AUDIT_ERRORS.FORBIDDEN, message);
export const exportTooLarge = (max: number, count: number) =>
  badUserInput(`The range holds ${count} events; export at most ${max} at a time (narrow from/to)`, { max, count });
export const subscriptionInterrupted = (reason: 'SLOW_READER' | 'READ_FAILED', message: string) =>
  interrupted(reason, `${message}; resubscribe, then read what was missed with auditEvents`);
