// The workspaces subgraph's schema: the explicit list of resolvers and entities.
import { OutboxEntrySchema, type OutboxRelay } from '@citadel/kit/outbox';
import { outboxAdminResolver } from '@citadel/kit/outbox-admin';
import { migrationsDir } from '@citadel/kit/paths';
import type { GraphQLSchema } from 'graphql';
import { workspacesMigrations } from '../../../migrations/workspaces';
import { buildFederatedSchema } from '@citadel/kit/federation';
import { todoEventsResolver } from './todos/todo-event.resolver';
import type { TodoEventService } from './todos/todo-event.service';
import { IdempotencyKeyEntity, TodoEntity } from './todos/todo.entity';
import { TodoResolver } from './todos/todo.resolver';
import type { TodoService } from './todos/todo.service';
import { UserResolver } from './users/user.resolver';
import { userReferenceResolvers } from './users/user.type';
import { MemberResolver } from './workspaces/member.resolver';
import { MemberEntity, WorkspaceEntity } from './workspaces/workspace.entity';
import { workspaceReferenceResolvers } from './workspaces/workspace.reference';
import { WorkspaceResolver } from './workspaces/workspace.resolver';
import type { WorkspaceService } from './workspaces/workspace.service';

export const SUBGRAPH_NAME = 'workspaces';

export const database = {
  schema: SUBGRAPH_NAME,
  entities: [WorkspaceEntity, MemberEntity, TodoEntity, IdempotencyKeyEntity, OutboxEntrySchema],
  migrations: workspacesMigrations,
  migrationsPath: migrationsDir(SUBGRAPH_NAME),
};

export interface WorkspacesServices {
  workspaces: WorkspaceService;
  todos: TodoService;
  /** Live todo events, fed by the outbox relay through pubsub. */
  todoEvents: TodoEventService;
  /** The outbox relay, for the dead-event admin fields (read when one is used). */
  relay: () => OutboxRelay;
}

export function buildWorkspacesSchema(services: WorkspacesServices): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [
      new WorkspaceResolver(services.workspaces),
      new MemberResolver(services.workspaces),
      new TodoResolver(services.todos),
      todoEventsResolver(services.todoEvents),
      new UserResolver(services.workspaces),
      outboxAdminResolver(SUBGRAPH_NAME, services.relay),
    ],
    referenceResolvers: { ...userReferenceResolvers, ...workspaceReferenceResolvers },
  });
}
