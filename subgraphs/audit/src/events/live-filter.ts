// Which recorded events a live subscription wants: the auditEvents filter's fields that make sense
// for events arriving now, plus the producing service, matched in memory with auditEvents' rules.
import { badUserInput } from '@citadel/kit/errors';
import type { StoredEvent } from '../chain/canonical';
import { FILTER_MAX_LENGTH } from './event.row';

export interface LiveEventFilter {
  actorId?: string | null | undefined;
  /** A prefix of the action: `identity.` or `identity.login.`; empty matches every action. */
  action?: string | null | undefined;
  targetType?: string | null | undefined;
  targetId?: string | null | undefined;
  outcome?: 'success' | 'failure' | 'denied' | null | undefined;
  service?: string | null | undefined;
}

export type EventMatcher = (event: StoredEvent) => boolean;

/** Every field given must match (AND); an overlong value is BAD_USER_INPUT, as for auditEvents. */
export function liveFilter(filter: LiveEventFilter): EventMatcher {
  const checks: EventMatcher[] = [];
  const exact = (field: keyof typeof FILTER_MAX_LENGTH, value: string | null | undefined, read: (event: StoredEvent) => string | null) => {
    if (value == null) return;
    if (value.length > FILTER_MAX_LENGTH[field]) throw badUserInput(`\`${field}\` must be at most ${FILTER_MAX_LENGTH[field]} characters`, { field });
    checks.push((event) => read(event) === value);
  };
  exact('actorId', filter.actorId, (event) => event.actorId);
  exact('targetType', filter.targetType, (event) => event.targetType);
  exact('targetId', filter.targetId, (event) => event.targetId);
  exact('service', filter.service, (event) => event.service);
  const { action, outcome } = filter;
  if (action != null && action !== '') {
    if (action.length > FILTER_MAX_LENGTH.action) throw badUserInput(`\`action\` must be at most ${FILTER_MAX_LENGTH.action} characters`, { field: 'action' });
    checks.push((event) => event.action.startsWith(action));
  }
  if (outcome != null) checks.push((event) => event.outcome === outcome);
  return (event) => checks.every((check) => check(event));
}
