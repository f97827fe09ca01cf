// The todoEvents use case: a member's live feed of a workspace's todo changes.
import type { EventStream } from '@citadel/kit/event-stream';
import type { EntityManager } from '@mikro-orm/postgresql';
import { workspaceNotFound } from '../workspaces.errors';
import { requireAccess, UUID } from '../workspaces/access';
import type { TodoEvent, TodoEventHub } from './todo-event-hub';

export class TodoEventService {
  constructor(private readonly hub: TodoEventHub) {}

  /**
   * The workspace's todo events for a member (any role that may read todos); NOT_FOUND for anyone
   * else, as for queries. The stream ends with an error when the member is removed or leaves, or
   * the workspace is deleted.
   */
  async subscribe(em: EntityManager, userId: string, workspaceId: string): Promise<EventStream<TodoEvent>> {
    if (!UUID.test(workspaceId)) throw workspaceNotFound();
    // Listen first, then check: a removal committed after the check still reaches the stream.
    const stream = await this.hub.open(workspaceId, userId);
    try {
      await requireAccess(em, workspaceId, userId, 'workspaces.todo.read');
    } catch (error) {
      await stream.return();
      throw error;
    }
    return stream;
  }
}
