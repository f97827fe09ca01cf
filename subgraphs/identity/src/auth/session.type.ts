// A sign-in as its owner sees it.
import { GraphQLDateTime } from 'graphql-scalars';
import { Field, ID, ObjectType } from 'type-graphql';
import type { Session } from './session.entity';

@ObjectType('Session')
export class SessionType {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => String, { nullable: true })
  ip!: string | null;

  @Field(() => GraphQLDateTime)
  createdAt!: Date;

  @Field(() => GraphQLDateTime, { description: 'Last sign-in or token refresh.' })
  lastUsedAt!: Date;

  @Field(() => Boolean, { description: 'The session this request was made with.' })
  current!: boolean;

  static from(session: Session, currentSessionId: string | null): SessionType {
    return Object.assign(new SessionType(), {
      id: session.id,
      userAgent: session.userAgent,
      ip: session.ip,
      createdAt: session.createdAt,
      lastUsedAt: session.lastUsedAt,
      current: session.id === currentSessionId,
    });
  }
}
