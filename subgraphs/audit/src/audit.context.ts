// The audit subgraph's per-request context: the kit's, plus the process's live feed, which the
// auditEventRecorded subscription opens (type-graphql's `subscribe` sees the context, not the resolver).
import type { SubgraphContext } from '@citadel/kit/subgraph';
import type { RecordedEventFeed } from './events/recorded-feed';

export interface AuditContext extends SubgraphContext {
  recorded: RecordedEventFeed;
}

export const auditContext =
  (recorded: RecordedEventFeed) =>
  (base: SubgraphContext): AuditContext => ({ ...base, recorded });
