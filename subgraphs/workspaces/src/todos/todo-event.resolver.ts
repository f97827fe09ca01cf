// The todoEvents subscription: a member's live feed of a workspace's todo changes.
import { Arg, Directive, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { requireUser, type WorkspacesContext } from '../workspaces.context';
import type { TodoEvent } from './todo-event-hub';
import type { TodoEventService } from './todo-event.service';
import { TodoEventType } from './todo-event.type';

/** A resolver instance for the schema; `subscribe` is fixed when the class is declared, so it closes over the service. */
export function todoEventsResolver(events: TodoEventService): object {
  @Resolver()
  class TodoEventsResolver {
    @Subscription(() => TodoEventType, {
      description:
        'Changes to the todos of a workspace you are a member of, in order, once committed. NOT_FOUND for a non-member. ' +
        'Ends with FORBIDDEN when you are removed or leave, NOT_FOUND when the workspace is deleted, SUBSCRIPTION_INTERRUPTED when you fall 1,000 events behind.',
      subscribe: ({ args, context }: SubscribeResolverData<unknown, { workspaceId: string }, WorkspacesContext>) =>
        events.subscribe(context.em, requireUser(context), args.workspaceId),
    })
    @Directive('@authenticated')
    todoEvents(@Root() event: TodoEvent, @Arg('workspaceId', () => ID) _workspaceId: string): TodoEventType {
      return TodoEventType.from(event);
    }
  }
  return new TodoEventsResolver();
}
