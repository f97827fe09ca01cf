// Filters of the auditEvents list and of the auditEventRecorded subscription.
import { GraphQLDateTime } from 'graphql-scalars';
import { Field, InputType } from 'type-graphql';
import { AuditOutcome } from './audit-event.type';

/** What the list and the live feed both filter on. */
@InputType()
abstract class AuditEventMatchInput {
  @Field(() => String, { nullable: true, description: 'The acting user id or service name.' })
  actorId?: string | null;

  @Field(() => String, { nullable: true, description: 'A prefix of the action: `identity.` or `identity.login.`.' })
  action?: string | null;

  @Field(() => String, { nullable: true })
  targetType?: string | null;

  @Field(() => String, { nullable: true })
  targetId?: string | null;

  @Field(() => AuditOutcome, { nullable: true })
  outcome?: AuditOutcome | null;
}

@InputType('AuditEventFilter', { description: 'Every field given must match (AND).' })
export class AuditEventFilterInput extends AuditEventMatchInput {
  @Field(() => GraphQLDateTime, { nullable: true, description: 'occurredAt at or after this.' })
  from?: Date | null;

  @Field(() => GraphQLDateTime, { nullable: true, description: 'occurredAt before this.' })
  to?: Date | null;
}

@InputType('AuditEventRecordedFilter', { description: 'Which newly recorded events to receive. Every field given must match (AND).' })
export class AuditEventRecordedFilterInput extends AuditEventMatchInput {
  @Field(() => String, { nullable: true, description: 'The producing service: `identity`, `authz`, `gateway`, …' })
  service?: string | null;
}
