// Reading the trail (guarded by `audit.event.read`): the filtered list, one event, an NDJSON export.
import { DEFAULT_PAGE_SIZE, mapPage } from '@citadel/kit/connection';
import { requiresScopes } from '@citadel/kit/permissions';
import { GraphQLDateTime } from 'graphql-scalars';
import { Arg, Ctx, Directive, ID, Int, Query, Resolver } from 'type-graphql';
import type { AuditContext } from '../audit.context';
import type { AuditPermission } from '../audit.permissions';
import { AuditEventFilterInput } from './audit-event.inputs';
import { AuditEventConnectionType, AuditEventType } from './audit-event.type';
import { MAX_EXPORT_EVENTS, type EventQueryService } from './event-query.service';

const READ = requiresScopes<AuditPermission>('audit.event.read');

@Resolver()
export class AuditEventResolver {
  constructor(private readonly events: EventQueryService) {}

  @Query(() => AuditEventConnectionType, { description: 'Recorded events, newest first.' })
  @Directive(READ)
  async auditEvents(
    @Arg('filter', () => AuditEventFilterInput, { nullable: true }) filter: AuditEventFilterInput | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE, description: '1 to 100.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: AuditContext,
  ): Promise<AuditEventConnectionType> {
    const page = await this.events.list(ctx.em, filter ?? {}, { first: first ?? DEFAULT_PAGE_SIZE, after });
    return mapPage(page, AuditEventType.from);
  }

  @Query(() => AuditEventType, { nullable: true, description: 'One event by its id; null when there is none.' })
  @Directive(READ)
  async auditEvent(@Arg('id', () => ID) id: string, @Ctx() ctx: AuditContext): Promise<AuditEventType | null> {
    const event = await this.events.find(ctx.em, id);
    return event ? AuditEventType.from(event) : null;
  }

  @Query(() => String, {
    description: `Events that occurred in [from, to) as NDJSON, then the checkpoints among them (format in docs/audit.md). At most ${MAX_EXPORT_EVENTS} events.`,
  })
  @Directive(READ)
  async auditExport(
    @Arg('from', () => GraphQLDateTime) from: Date,
    @Arg('to', () => GraphQLDateTime) to: Date,
    @Ctx() ctx: AuditContext,
  ): Promise<string> {
    return this.events.exportRange(ctx.em, from, to);
  }
}
