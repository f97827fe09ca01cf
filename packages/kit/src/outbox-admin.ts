// GraphQL for operators: list a subgraph's dead outbox events and put them back in line. Each
// producing subgraph mounts it under its own names (`identityDeadEvents`, `retryIdentityDeadEvents`)
// since a root field cannot be served by two subgraphs.
import { GraphQLDateTime } from 'graphql-scalars';
import { Arg, Directive, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import type { OutboxRelay } from './outbox';
import { requiresScopes } from './permissions';

/** Declared in audit's catalogue; any producer's dead events need it. */
export const OUTBOX_MANAGE = 'audit.outbox.manage';

@ObjectType('DeadOutboxEvent', { description: 'An event a subgraph could not deliver to audit after every retry.' })
@Directive('@shareable')
export class DeadOutboxEventType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  service!: string;

  @Field(() => String)
  action!: string;

  @Field(() => GraphQLDateTime)
  occurredAt!: Date;

  @Field(() => Int)
  attempts!: number;

  @Field(() => String, { nullable: true })
  lastError!: string | null;

  @Field(() => GraphQLDateTime)
  deadAt!: Date;
}

const capitalized = (module: string) => module.charAt(0).toUpperCase() + module.slice(1);

/** A resolver instance for `buildFederatedSchema({ resolvers })`. */
export function outboxAdminResolver(module: string, relay: () => OutboxRelay): object {
  const name = capitalized(module);

  @Resolver()
  class OutboxAdminResolver {
    @Query(() => [DeadOutboxEventType], { name: `${module}DeadEvents`, description: `Events ${module} could not deliver to audit, oldest first.` })
    @Directive(requiresScopes(OUTBOX_MANAGE))
    async dead(@Arg('first', () => Int, { defaultValue: 100 }) first: number): Promise<DeadOutboxEventType[]> {
      const rows = await relay().deadEvents(Math.max(1, Math.min(first, 1_000)));
      return rows.map((row) =>
        Object.assign(new DeadOutboxEventType(), {
          id: row.id,
          service: row.event.service,
          action: row.event.action,
          occurredAt: new Date(row.event.occurredAt),
          attempts: row.attempts,
          lastError: row.lastError,
          deadAt: row.deadAt,
        }),
      );
    }

    @Mutation(() => Int, { name: `retry${name}DeadEvents`, description: 'Puts dead events back in line (all, or the ids given); returns how many.' })
    @Directive(requiresScopes(OUTBOX_MANAGE))
    retry(@Arg('ids', () => [ID], { nullable: true }) ids: string[] | null): Promise<number> {
      return relay().retryDead(ids ?? undefined);
    }
  }
  return new OutboxAdminResolver();
}
