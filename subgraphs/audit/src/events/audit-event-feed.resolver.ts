// auditEventRecorded: events as they are recorded, guarded like auditEvents (`audit.event.read`).
import { requiresScopes } from '@citadel/kit/permissions';
import { Arg, Directive, Resolver, Root, Subscription } from 'type-graphql';
import type { AuditContext } from '../audit.context';
import type { AuditPermission } from '../audit.permissions';
import type { StoredEvent } from '../chain/canonical';
import { AuditEventRecordedFilterInput } from './audit-event.inputs';
import { AuditEventType } from './audit-event.type';
import type { LiveEventFilter } from './live-filter';

const READ = requiresScopes<AuditPermission>('audit.event.read');

@Resolver()
export class AuditEventFeedResolver {
  @Subscription(() => AuditEventType, {
    description:
      'Each event matching the filter, once, after the transaction that recorded it committed; in seq order within each committed batch. Ends with SUBSCRIPTION_INTERRUPTED when events would be missed.',
    subscribe: ({ args, context }) => (context as AuditContext).recorded.open((args.filter ?? {}) as LiveEventFilter),
  })
  @Directive(READ)
  auditEventRecorded(
    @Root() event: StoredEvent,
    // Read by `subscribe` above; declared here so the field takes it.
    @Arg('filter', () => AuditEventRecordedFilterInput, { nullable: true }) _filter: AuditEventRecordedFilterInput | null,
  ): AuditEventType {
    return AuditEventType.from(event);
  }
}
