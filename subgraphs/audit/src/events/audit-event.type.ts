// The trail's GraphQL types, and the slice of identity's User that audit extends.
import { ConnectionType, EdgeType } from '@citadel/kit/connection';
import { GraphQLDateTime, GraphQLJSON } from 'graphql-scalars';
import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { StoredEvent } from '../chain/canonical';

export enum ActorType {
  USER = 'user',
  SERVICE = 'service',
  ANONYMOUS = 'anonymous',
}
registerEnumType(ActorType, { name: 'AuditActorType', description: 'Who acted: a signed-in user, a platform service, or nobody signed in.' });

export enum AuditOutcome {
  SUCCESS = 'success',
  FAILURE = 'failure',
  DENIED = 'denied',
}
registerEnumType(AuditOutcome, { name: 'AuditOutcome', description: 'DENIED: refused by authorization; FAILURE: anything else that failed.' });

/** identity's account, as audit knows it: by id only. */
@ObjectType('User')
@Directive('@key(fields: "id")')
export class UserRef {
  @Field(() => ID)
  id!: string;

  static of(id: string): UserRef {
    return Object.assign(new UserRef(), { id });
  }
}

@ObjectType('AuditActor')
export class AuditActor {
  @Field(() => ActorType)
  type!: ActorType;

  @Field(() => String, { nullable: true, description: 'The user id, or the service name.' })
  id!: string | null;

  @Field(() => String, { nullable: true })
  sessionId!: string | null;

  @Field(() => UserRef, { nullable: true, description: 'The account, when a user acted.' })
  user!: UserRef | null;
}

@ObjectType('AuditTarget')
export class AuditTargetType {
  @Field(() => String, { description: 'What was acted on, by its GraphQL type name: `User`, `Role`, `Grant`, …' })
  type!: string;

  @Field(() => String, { nullable: true })
  id!: string | null;
}

@ObjectType('AuditEvent', { description: 'One recorded action. Append-only: it never changes after it is recorded.' })
export class AuditEventType {
  @Field(() => ID, { description: "The producer's event id." })
  id!: string;

  @Field(() => Int, { description: 'Position in the chain, gap-free from 1.' })
  seq!: number;

  @Field(() => GraphQLDateTime)
  occurredAt!: Date;

  @Field(() => GraphQLDateTime, { description: 'When audit stored it.' })
  recordedAt!: Date;

  @Field(() => String, { description: 'The producing service.' })
  service!: string;

  @Field(() => AuditActor)
  actor!: AuditActor;

  @Field(() => String, { description: '`<module>.<resource>.<verb>`, e.g. `identity.login.succeeded`.' })
  action!: string;

  @Field(() => AuditTargetType, { nullable: true })
  target!: AuditTargetType | null;

  @Field(() => AuditOutcome)
  outcome!: AuditOutcome;

  @Field(() => String, { nullable: true, description: 'Why, for failures and denials: a stable code.' })
  reason!: string | null;

  @Field(() => String, { nullable: true })
  ip!: string | null;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => String, { nullable: true })
  requestId!: string | null;

  @Field(() => String, { nullable: true })
  traceId!: string | null;

  @Field(() => String, { nullable: true })
  operationName!: string | null;

  @Field(() => GraphQLJSON, { nullable: true, description: '`{ before, after }` with secrets redacted.' })
  changes!: unknown;

  @Field(() => String, { description: 'sha256(prev hash || canonical event), hex.' })
  hash!: string;

  static from(event: StoredEvent): AuditEventType {
    return Object.assign(new AuditEventType(), {
      id: event.id,
      seq: event.seq,
      occurredAt: new Date(event.occurredAt),
      recordedAt: new Date(event.recordedAt),
      service: event.service,
      actor: Object.assign(new AuditActor(), {
        type: event.actorType as ActorType,
        id: event.actorId,
        sessionId: event.actorSessionId,
        user: event.actorType === ActorType.USER && event.actorId ? UserRef.of(event.actorId) : null,
      }),
      action: event.action,
      target: event.targetType === null ? null : Object.assign(new AuditTargetType(), { type: event.targetType, id: event.targetId }),
      outcome: event.outcome as AuditOutcome,
      reason: event.reason,
      ip: event.ip,
      userAgent: event.userAgent,
      requestId: event.requestId,
      traceId: event.traceId,
      operationName: event.operationName,
      changes: event.changes,
      hash: event.hash,
    });
  }
}

@ObjectType('AuditEventEdge')
export class AuditEventEdgeType extends EdgeType(AuditEventType) {}

@ObjectType('AuditEventConnection')
export class AuditEventConnectionType extends ConnectionType(AuditEventEdgeType) {}
