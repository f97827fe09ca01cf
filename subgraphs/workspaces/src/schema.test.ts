// The built subgraph schema keeps what type-graphql declared: a subscription's own `subscribe`
// must survive createResolversMap and buildSubgraphSchema, or every subscription would fail.
import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { sdlOnlyServices } from '@citadel/kit/federation';
import { printSubgraphSchema } from '@apollo/subgraph';
import { buildWorkspacesSchema, type WorkspacesServices } from './schema';
import type { TodoEventService } from './todos/todo-event.service';

describe('workspaces schema', () => {
  it('serves todoEvents with its subscribe function, which asks the service for the caller and workspace', async () => {
    const asked: unknown[] = [];
    const stream = { [Symbol.asyncIterator]: () => stream };
    const todoEvents = { subscribe: async (_em: unknown, userId: string, workspaceId: string) => (asked.push([userId, workspaceId]), stream) } as unknown as TodoEventService;
    const unused = sdlOnlyServices<WorkspacesServices>();
    const schema = await buildWorkspacesSchema({ workspaces: unused.workspaces, todos: unused.todos, relay: unused.relay, todoEvents });
    const field = schema.getSubscriptionType()?.getFields().todoEvents;
    expect(typeof field?.subscribe).toBe('function');
    expect(typeof field?.resolve).toBe('function');
    const context = { em: {}, caller: { userId: 'u-1' } };
    expect(await field!.subscribe!(undefined, { workspaceId: 'w-1' }, context, {} as never)).toBe(stream);
    expect(asked).toEqual([['u-1', 'w-1']]);
    expect(printSubgraphSchema(schema)).toContain('todoEvents(workspaceId: ID!): TodoEvent! @authenticated');
  });
});
