// User.auditTrail: what a user did and what was done to their account. Their own, or anyone's
// with `audit.event.read`.
import { DEFAULT_PAGE_SIZE, mapPage } from '@citadel/kit/connection';
import { unauthenticated } from '@citadel/kit/errors';
import { Arg, Ctx, Directive, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import type { AuditContext } from '../audit.context';
import { forbidden } from '../audit.errors';
import type { AuditPermission } from '../audit.permissions';
import { AuditEventConnectionType, AuditEventType, UserRef } from './audit-event.type';
import type { EventQueryService } from './event-query.service';

const READ: AuditPermission = 'audit.event.read';

@Resolver(() => UserRef)
export class UserTrailResolver {
  constructor(private readonly events: EventQueryService) {}

  @FieldResolver(() => AuditEventConnectionType, { description: "The user's security events, newest first. Yours, or anyone's with audit.event.read." })
  @Directive('@authenticated')
  async auditTrail(
    @Root() user: UserRef,
    @Arg('first', () => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE, description: '1 to 100.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: AuditContext,
  ): Promise<AuditEventConnectionType> {
    const { userId, permissions } = ctx.caller;
    if (!userId) throw unauthenticated();
    if (userId !== user.id && !permissions.includes(READ)) throw forbidden("Reading another user's audit trail needs audit.event.read");
    const page = await this.events.trail(ctx.em, user.id, { first: first ?? DEFAULT_PAGE_SIZE, after });
    // Someone else acted on this account (an administrator): the user learns what was done and by
    // whom, not where that person was or which session and request they used.
    const privileged = permissions.includes(READ);
    return mapPage(page, (event) => {
      const view = AuditEventType.from(event);
      if (privileged || event.actorId === userId) return view;
      view.actor.sessionId = null;
      return Object.assign(view, { ip: null, userAgent: null, requestId: null, traceId: null });
    });
  }
}

export const userReferenceResolvers = {
  User: {
    __resolveReference: (ref: { id: string }) => UserRef.of(ref.id),
  },
};
